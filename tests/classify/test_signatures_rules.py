"""The shipped signatures, compiled by real YARA and confirmed: positives and look-alikes.

Every rule file must compile without warnings in yara-python and in the Debian yara CLI
(the benchmark's reference). Each category gets byte strings that must be found and
look-alikes that must not.
"""

# Japanese markings are written with fullwidth brackets and colons on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import io
import random
import re
import shutil
import string
import struct
import subprocess
import zipfile
from functools import cache
from pathlib import Path

import pytest
import yara

from dlpd.classify.confirm import confirm, is_keyword
from dlpd.classify.signatures import rule_meta
from dlpd.classify.validators import REGISTRY
from dlpd.model import CATEGORIES, Confidence, Detection, RuleHit, RuleMeta, StringHit

SIGNATURES = Path(__file__).resolve().parents[2] / "dlpd" / "data" / "signatures"
RULE_FILES = sorted(SIGNATURES.glob("*.yar"))
META_KEYS = {
    "category", "confidence", "validator", "proximity", "require_keyword", "description",
    "author", "reference", "marking",
}  # fmt: skip


def _meta(rule: str, raw: dict[str, object]) -> RuleMeta:
    return rule_meta(rule, "test", dict(raw))


@cache
def _compiled() -> tuple[yara.Rules, dict[str, RuleMeta]]:
    rules = yara.compile(filepaths={p.stem: str(p) for p in RULE_FILES}, error_on_warning=True)
    metas = {r.identifier: _meta(r.identifier, dict(r.meta)) for r in rules}
    return rules, metas


def detect(data: bytes) -> dict[str, Detection]:
    """Rule id -> detection, through the real rules and confirm()."""
    rules, metas = _compiled()
    found: dict[str, Detection] = {}
    for match in rules.match(data=data):
        strings = tuple(
            StringHit(s.identifier, i.offset, i.matched_data)
            for s in match.strings
            for i in s.instances
        )
        detection = confirm(RuleHit(metas[match.rule], strings), data, None, REGISTRY)
        if detection is not None:
            found[match.rule] = detection
    return found


def categories(data: bytes) -> set[str]:
    return {d.category for d in detect(data).values()}


def confidence_of(data: bytes, category: str) -> Confidence | None:
    levels = [d.confidence for d in detect(data).values() if d.category == category]
    return max(levels) if levels else None


def rnd(alphabet: str, length: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


ALNUM = string.ascii_letters + string.digits

# -- the rule files ---------------------------------------------------------------------------


def test_the_rule_files_are_there() -> None:
    names = {p.name for p in RULE_FILES}
    assert names >= {
        "pii_financial.yar", "pii_identity.yar", "credentials.yar", "private_keys.yar",
        "export_control.yar", "cui.yar", "jp_confidential.yar", "research_formats.yar",
    }  # fmt: skip


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_compiles_without_warnings(path: Path) -> None:
    yara.compile(filepath=str(path), error_on_warning=True)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_compiles_in_the_yara_cli(path: Path) -> None:
    cli = shutil.which("yara")
    if cli is None:
        pytest.skip("the yara CLI (Debian package yara) is not installed")
    done = subprocess.run(
        [cli, "-w", str(path), "/dev/null"], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    # -w hides warnings; without it the CLI prints them: there must be none.
    done = subprocess.run(
        [cli, str(path), "/dev/null"], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 0
    assert b"warning" not in done.stderr.lower(), done.stderr.decode()


def test_all_files_compile_together_in_the_yara_cli() -> None:
    cli = shutil.which("yara")
    if cli is None:
        pytest.skip("the yara CLI (Debian package yara) is not installed")
    args = [f"{p.stem}:{p}" for p in RULE_FILES]
    done = subprocess.run(
        [cli, "-w", *args, "/dev/null"], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()


def test_rule_names_are_unique_across_files() -> None:
    names = [r.identifier for p in RULE_FILES for r in yara.compile(filepath=str(p))]
    assert len(names) == len(set(names))


def test_every_rule_meets_the_meta_contract() -> None:
    rules, _ = _compiled()
    for rule in rules:
        raw = dict(rule.meta)
        where = rule.identifier
        assert set(raw) <= META_KEYS, where
        assert raw.get("category") in CATEGORIES, where
        Confidence.parse(str(raw.get("confidence", "medium")))
        assert str(raw.get("description", "")).strip(), where
        proximity = raw.get("proximity", 300)
        assert isinstance(proximity, int) and not isinstance(proximity, bool), where
        assert proximity >= 0, where
        assert isinstance(raw.get("require_keyword", False), bool), where
        if "validator" in raw:
            assert raw["validator"] in REGISTRY, where


def _string_identifiers(path: Path) -> dict[str, list[str]]:
    """Rule name -> its string identifiers, read from the source (yara-python hides them)."""
    found: dict[str, list[str]] = {}
    for rule in re.finditer(r"^rule\s+(\w+)\s*\{(.*?)^\}", path.read_text(), re.M | re.S):
        strings = re.search(r"strings:(.*?)condition:", rule.group(2), re.S)
        section = strings.group(1) if strings else ""
        found[rule.group(1)] = re.findall(r"^\s*(\$\w+)\s*=", section, re.M)
    return found


def test_finder_rules_carry_keywords_only() -> None:
    """A rule whose validator has a finder gets candidates from it, never from YARA.

    Its strings are context keywords, or it has none: the genotype rules are
    condition-only triggers on the first bytes, whose finders are anchored at the start.
    """
    _, metas = _compiled()
    identifiers = {
        rule: ids for path in RULE_FILES for rule, ids in _string_identifiers(path).items()
    }
    assert set(identifiers) == set(metas)
    finder_rules = [m.rule for m in metas.values() if m.validator and REGISTRY[m.validator].finder]
    assert len(finder_rules) >= 5
    for rule in finder_rules:
        assert all(is_keyword(i) for i in identifiers[rule]), rule


def test_every_category_has_a_rule() -> None:
    _, metas = _compiled()
    assert {m.category for m in metas.values()} == set(CATEGORIES)


# -- credit-card ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        (b"Card number: 4111 1111 1111 1111\n", Confidence.HIGH),
        (b"visa 4012-8888-8888-1881", Confidence.HIGH),
        (b"name,card_number,exp\nBob,5555555555554444,12/27\n", Confidence.HIGH),
        (b"amex: 3782 822463 10005", Confidence.HIGH),
        ("クレジットカード番号：4111111111111111".encode(), Confidence.HIGH),
        (b"CARD\n" + b"-" * 400 + b"\n6011111111111117\n", Confidence.MEDIUM),
    ],
)
def test_credit_card_positives(text: bytes, confidence: Confidence) -> None:
    assert confidence_of(text, "credit-card") == confidence


@pytest.mark.parametrize(
    "text",
    [
        b"card: 4111111111111112",  # Luhn fails
        b"card sample ids 1234567812345678 2345678923456789",
        b"4111111111111111 without any context word",
        b"discard 4111111111111111",
        b"cardiac sample 4111111111111111",
        b"card ref 41111111111111110",  # a longer run is not a card
        b"card issued 1700000000000 ms",  # an epoch timestamp
    ],
)
def test_credit_card_look_alikes(text: bytes) -> None:
    assert "credit-card" not in categories(text)


# -- us-ssn -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule", "confidence"),
    [
        (b"SSN: 536-22-1234", "us_ssn", Confidence.HIGH),
        (b"patient_ssn,name\n536-22-1234,Bob\n", "us_ssn", Confidence.HIGH),
        (b"Social Security Number 536 22 1234", "us_ssn", Confidence.HIGH),
        (b"SSN\n" + b"." * 500 + b"\n536-22-1234", "us_ssn", Confidence.MEDIUM),
        (b"SSN: 536221234", "us_ssn_unformatted", Confidence.MEDIUM),
        (b'{"ssn": "536221234"}', "us_ssn_unformatted", Confidence.MEDIUM),
    ],
)
def test_ssn_positives(text: bytes, rule: str, confidence: Confidence) -> None:
    found = detect(text)
    assert rule in found
    assert found[rule].confidence == confidence


@pytest.mark.parametrize(
    "text",
    [
        b"SSN: 000-12-3456",
        b"SSN 666-12-3456",
        b"SSN 912-34-5678",
        b"SSN: 078-05-1120",
        b"classname 536-22-1234",  # "ssn" inside a word is no keyword
        b"phone 536-22-1234",
        b"SSN on file.\n" + b"x" * 100 + b" order 536221234",  # bare 9 digits, not next to it
        b'{"note": "SSN: 536-22-1234"}, {"id": 646106605}',  # a record id near a labelled SSN
    ],
)
def test_ssn_look_alikes(text: bytes) -> None:
    found = detect(text)
    assert "us_ssn_unformatted" not in found
    if b"536-22-1234" not in text or b"SSN" not in text:
        assert "us-ssn" not in categories(text)


# -- jp-my-number -----------------------------------------------------------------------------

KOJIN = "個人番号".encode()


@pytest.mark.parametrize(
    "text",
    [
        KOJIN + b": 1234 5678 9018",
        "マイナンバー（123456789018）".encode(),
        b"My Number 1234-5678-9018",
        b"my_number,name\n123456789018,Sato\n",
    ],
)
def test_my_number_positives(text: bytes) -> None:
    assert confidence_of(text, "jp-my-number") == Confidence.HIGH


@pytest.mark.parametrize(
    "text",
    [
        KOJIN + b": 1234 5678 9012",  # check digit fails
        KOJIN + b"\n" + b"x" * 500 + b"\n123456789018",  # too far from the keyword
        b"123456789018 without a keyword",
        b"call my number 123456789018",  # everyday English is no keyword
    ],
)
def test_my_number_look_alikes(text: bytes) -> None:
    assert "jp-my-number" not in categories(text)


# -- iban ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"IBAN: DE89 3704 0044 0532 0130 00",
        b"iban,name\nGB82WEST12345698765432,Bob\n",
        "振込先口座 FR1420041010050500013M02606".encode(),
    ],
)
def test_iban_positives(text: bytes) -> None:
    assert confidence_of(text, "iban") == Confidence.HIGH


@pytest.mark.parametrize(
    "text",
    [
        b"IBAN: DE89 3704 0044 0532 0130 01",
        b"DE89370400440532013000 without a keyword",
        b"IBAN: XX89370400440532013000",
    ],
)
def test_iban_look_alikes(text: bytes) -> None:
    assert "iban" not in categories(text)


# -- credential -------------------------------------------------------------------------------

AWS_ID = "AKIA" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1)
AWS_SECRET = rnd(ALNUM + "/+", 40, 2)


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        (f"aws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n", Confidence.HIGH),
        (f"key: {AWS_ID}", Confidence.MEDIUM),
        ("token=ghp_" + rnd(ALNUM, 36, 3), Confidence.HIGH),
        ("github_pat_" + rnd(ALNUM, 22, 4) + "_" + rnd(ALNUM, 59, 5), Confidence.HIGH),
        ("glpat-" + rnd(ALNUM, 20, 6), Confidence.HIGH),
        ("xoxb-" + rnd(string.digits, 12, 7) + "-" + rnd(ALNUM, 24, 8), Confidence.HIGH),
        (
            "https://hooks.slack.com/services/T"
            + rnd("ABCDEFGHJK0123456789", 8, 9)
            + "/B"
            + rnd("ABCDEFGHJK0123456789", 10, 10)
            + "/"
            + rnd(ALNUM, 24, 11),
            Confidence.HIGH,
        ),
        ("AIza" + rnd(ALNUM + "_-", 35, 12), Confidence.MEDIUM),
        ("sk_live_" + rnd(ALNUM, 24, 13), Confidence.HIGH),
        ("HF_TOKEN=hf_" + rnd(string.ascii_letters, 34, 14), Confidence.HIGH),
        ("sk-proj-" + rnd(ALNUM, 40, 15) + "T3BlbkFJ" + rnd(ALNUM, 40, 16), Confidence.HIGH),
        ("sk-ant-api03-" + rnd(ALNUM + "_-", 93, 17) + "AA", Confidence.HIGH),
        (
            "DefaultEndpointsProtocol=https;AccountName=lab;AccountKey="
            + rnd(ALNUM + "+/", 86, 18)
            + "==;",
            Confidence.HIGH,
        ),
        ("//registry.npmjs.org/:_authToken=npm_" + rnd(ALNUM, 36, 19), Confidence.HIGH),
        ('DB_PASSWORD="Zq9xW2vL!"\n', Confidence.MEDIUM),
        ("MYSQL_ROOT_PASSWORD=Tr0ub4dor3\n", Confidence.MEDIUM),
        ("spring.datasource.password=Tr0ub4dor3\n", Confidence.MEDIUM),
        ('{"user": "app", "password": "Zq9xW2vL"}', Confidence.MEDIUM),
        ("  password: Zq9xW2vL\n", Confidence.MEDIUM),
        ('String dbPassword = "Zq9xW2vL";', Confidence.MEDIUM),
        ("url = postgresql://app:Zq9xW2vL@db.lab.example:5432/x", Confidence.MEDIUM),
        ("<server><password>Zq9xW2vL</password></server>", Confidence.MEDIUM),
        ("jdbc:sqlserver://db;user=app;password=Zq9xW2vL;", Confidence.MEDIUM),
    ],
)
def test_credential_positives(text: str, confidence: Confidence) -> None:
    assert confidence_of(text.encode(), "credential") == confidence


@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "AKIAXXXXXXXXXXXXXXXX",
        "token=ghp_" + "x" * 36,
        "hf_" + "x" * 34,
        'password = os.environ["DB_PASSWORD"]',
        "password = os.getenv('DB_PASSWORD')",
        "password = get_password()",
        "PASSWORD=${PASSWORD}",
        "password: ${DB_PASS}",
        'password: "{{ password }}"',
        "password = <password>",
        'password = ""',
        "password = None",
        'password = "changeme"',
        "password_hash = 5e884898da28047151d0e56f8dc62927",
        "bypass = on\ncompass: north\npassport = X1234567",
        "Password: must be at least 8 characters long",
        "mongodb+srv://<user>:<password>@cluster0.example.net",
        "sk_test_" + rnd(ALNUM, 24, 20),
    ],
)
def test_credential_look_alikes(text: str) -> None:
    assert "credential" not in categories(text.encode())


# -- private-key ------------------------------------------------------------------------------

KEY_BODY = base64.b64encode(random.Random(21).randbytes(600)).decode()
KEY_LINES = "\n".join(KEY_BODY[i : i + 64] for i in range(0, len(KEY_BODY), 64))


def pem(kind: str, body: str = KEY_LINES, newline: str = "\n") -> bytes:
    text = f"-----BEGIN {kind}-----{newline}{body}{newline}-----END {kind}-----{newline}"
    return text.encode()


@pytest.mark.parametrize(
    "text",
    [
        pem("RSA PRIVATE KEY"),
        pem("PRIVATE KEY"),
        pem("EC PRIVATE KEY", newline="\r\n"),
        pem("OPENSSH PRIVATE KEY"),
        pem("ENCRYPTED PRIVATE KEY"),
        pem("PGP PRIVATE KEY BLOCK", body="Version: GnuPG v2\n\n" + KEY_LINES),
        # a GCP service-account file: the key sits in a JSON string with \n escapes
        b'{"type": "service_account", "private_key": "'
        + pem("PRIVATE KEY", body=KEY_LINES.replace("\n", "\\n"), newline="\\n")
        + b'"}',
        b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: lab\n",
    ],
)
def test_private_key_positives(text: bytes) -> None:
    assert confidence_of(text, "private-key") == Confidence.HIGH


@pytest.mark.parametrize(
    "text",
    [
        pem("CERTIFICATE"),
        pem("PUBLIC KEY"),
        pem("RSA PUBLIC KEY"),
        pem("PGP PUBLIC KEY BLOCK"),
        b"ssh-rsa " + KEY_BODY.encode() + b" alice@lab\n",
        b"Your key file starts with -----BEGIN RSA PRIVATE KEY----- and ends with the END line.",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA...\n"
        b"-----END OPENSSH PRIVATE KEY-----",
    ],
)
def test_private_key_look_alikes(text: bytes) -> None:
    assert "private-key" not in categories(text)


# -- export-control ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        (b"This document contains ITAR-controlled technical data.", Confidence.HIGH),
        (b"EXPORT CONTROLLED - see cover page", Confidence.HIGH),
        (
            b"WARNING - This document contains technical data whose export is restricted by "
            b"the Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.)",
            Confidence.HIGH,
        ),
        (b"This item is subject to the EAR.", Confidence.HIGH),
        ("該非判定書を添付します".encode(), Confidence.HIGH),
        ("本製品はリスト規制に該当します".encode(), Confidence.HIGH),
        # References mark material only as a classification field or in a statement
        # about it; in running text, or as a heading, they are mentions: low (issue 10).
        (b"Questions about ITAR go to the export office.", Confidence.LOW),
        (b"as defined in 22 CFR 120.10", Confidence.LOW),
        (b"This drawing is subject to 22 CFR 120-130.", Confidence.MEDIUM),
        (b"see 22 C.F.R. Parts 120-130", Confidence.LOW),
        (b"ECCN: 3A001", Confidence.MEDIUM),
        (b"classified ECCN 5D002.c.1", Confidence.LOW),
        (b"Export controlled, ECCN 5D002.c.1", Confidence.HIGH),  # a stamp since issue 10
        (b"Classification: EAR99", Confidence.LOW),  # EAR99: not controlled
        (b"under 15 CFR 734.3", Confidence.LOW),
        (b"the Export Administration Regulations apply", Confidence.LOW),
        (b"The Export Administration Regulations apply to this report.", Confidence.MEDIUM),
        ("外為法に基づく手続き".encode(), Confidence.LOW),
        ("外国為替及び外国貿易法".encode(), Confidence.LOW),
        ("本資料は外国為替及び外国貿易法の規制対象技術を含む".encode(), Confidence.MEDIUM),
        ("キャッチオール規制の確認".encode(), Confidence.LOW),
        ("輸出令別表第1の16項".encode(), Confidence.LOW),
        ("該当項番：輸出令別表第1の16項".encode(), Confidence.MEDIUM),
    ],
)
def test_export_control_positives(text: bytes, confidence: Confidence) -> None:
    assert confidence_of(text, "export-control") == confidence


@pytest.mark.parametrize(
    "text",
    [
        b"guitar lessons on Tuesday; GUITAR amp",
        b"itar is not an acronym here",
        b"next year, the earth, my ear",
        b"EAR infection",
        b"ECCN",
        b"pH 3A001",
        b"22 CFR 140",
        b"15 CFR 800",
        b"chapter 22, page 120",
    ],
)
def test_export_control_look_alikes(text: bytes) -> None:
    assert "export-control" not in categories(text)


# -- cui ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        (b"CUI//SP-PRVCY\nbody\nCUI//SP-PRVCY\n", Confidence.HIGH),
        (b"CUI//FEDCON", Confidence.HIGH),
        (b"CONTROLLED//SP-EXPT\n", Confidence.HIGH),
        (b"CONTROLLED UNCLASSIFIED INFORMATION", Confidence.HIGH),
        (b"CUI\nReport body\n", Confidence.MEDIUM),
        (b"Controlled by: DoD\nCUI Category: PRVCY\nPOC: j.doe\n", Confidence.HIGH),
        (b"Training on Controlled Unclassified Information handling", Confidence.LOW),
    ],
)
def test_cui_positives(text: bytes, confidence: Confidence) -> None:
    assert confidence_of(text, "cui") == confidence


@pytest.mark.parametrize(
    "text",
    [
        b"the circuit and the biscuit\nCIRCUIT\n",
        b"French cuisine\nCUISINE\n",
        b"CUIT\n",
        b"a CUI-like acronym in a sentence",
    ],
)
def test_cui_look_alikes(text: bytes) -> None:
    assert "cui" not in categories(text)


# -- jp-confidential ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("【社外秘】研究計画書", Confidence.HIGH),
        ("極秘", Confidence.HIGH),
        ("部外秘資料", Confidence.HIGH),
        ("関係者外秘", Confidence.HIGH),
        ("㊙ 会議資料", Confidence.HIGH),
        ("秘密区分：秘", Confidence.HIGH),
        ("秘密区分 秘", Confidence.HIGH),
        ("資料（秘）", Confidence.HIGH),
        ("［秘］", Confidence.HIGH),
        ("〔秘〕", Confidence.HIGH),
        ("(秘)", Confidence.HIGH),
        ("取扱注意", Confidence.MEDIUM),
        ("取り扱い注意", Confidence.MEDIUM),
        ("社内限り", Confidence.MEDIUM),
        ("秘\n議事録\n", Confidence.MEDIUM),
        ("議事録\n　秘　\n本文\n", Confidence.MEDIUM),
    ],
)
def test_jp_confidential_positives(text: str, confidence: Confidence) -> None:
    assert confidence_of(text.encode(), "jp-confidential") == confidence


@pytest.mark.parametrize(
    "text",
    [
        "秘書室に連絡してください",
        "秘密保持契約を締結した",
        "成功の秘訣",
        "便秘の症状",
        "神秘的な現象",
        "Confidential - internal use only",
        "CONFIDENTIAL",
        "秘",
    ],
)
def test_jp_confidential_look_alikes(text: str) -> None:
    assert "jp-confidential" not in categories(text.encode())


def test_maruhi_in_random_bytes_is_no_marking() -> None:
    assert "jp-confidential" not in categories(b"\x9c\x01" + "㊙".encode() + b"\x00\xff")


# -- research formats -------------------------------------------------------------------------


def _zip(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, b"\x80\x02}q\x00.")
    return out.getvalue()


def _safetensors() -> bytes:
    header = (
        b'{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    )
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"\x00" * 8


def _nifti1() -> bytes:
    header = bytearray(352)
    struct.pack_into("<i", header, 0, 348)
    header[344:348] = b"n+1\x00"
    return bytes(header)


# A real ONNX file: onnx 1.23 helper.make_model(graph, producer_name="pytorch"), one MatMul.
ONNX_MODEL = bytes.fromhex(
    "080e12077079746f7263681a03322e313a650a110a01580a015712015922064d61744d756c1201672a23"
    "0803080210014201574a18000000000000803f0000004000004040000080400000a0405a130a0158120e"
    "0a0c080112080a0208010a02080362130a0159120e0a0c080112080a0208010a0208024202101c"
)
# The same model without a producer: the graph field comes right after ir_version.
ONNX_MODEL_NO_PRODUCER = bytes.fromhex(
    "080e3a650a110a01580a015712015922064d61744d756c1201672a230803080210014201574a18000000"
    "000000803f0000004000004040000080400000a0405a130a0158120e0a0c080112080a0208010a020803"
    "62130a0159120e0a0c080112080a0208010a0208024202101c"
)

FORMATS = [
    ("genomic_fastq", b"@read1/1\nACGTACGTNNACGTAC\n+\nIIIIIIIIIIIIIIII\n@read2\n"),
    ("genomic_fastq", b"@SRR001.1 len=12\r\nacgtacgtacgt\r\n+SRR001.1\r\nIIIIIIIIIIII\r\n"),
    ("genomic_sam", b"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:248956422\n"),
    ("genomic_sam", b"@SQ\tSN:chr1\tLN:248956422\nr1\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"),
    ("genomic_bam", b"BAM\x01" + b"\x00" * 32),
    ("genomic_cram", b"CRAM\x03\x01" + b"\x00" * 20),
    ("genomic_vcf", b"##fileformat=VCFv4.2\n##source=test\n#CHROM\tPOS\n"),
    ("genomic_vcf", b"BCF\x02\x02" + b"\x00" * 16),
    ("medical_image_dicom", b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL"),
    ("medical_image_nifti", _nifti1()),
    ("ml_model_safetensors", _safetensors()),
    ("ml_model_gguf", b"GGUF\x03\x00\x00\x00" + b"\x00" * 16),
    (
        "ml_model_pytorch",
        _zip(["model/data.pkl", "model/byteorder", "model/data/0", "model/version"]),
    ),
    ("ml_model_pytorch", _zip(["ckpt/data.pkl", "ckpt/.data/serialization_id"])),
    ("ml_model_pytorch", bytes.fromhex("80028a0a6cfc9c46f9206aa8501958") + b"\x00" * 8),
    ("ml_model_keras", _zip(["metadata.json", "config.json", "model.weights.h5"])),
    ("ml_model_onnx", ONNX_MODEL),
    ("ml_model_onnx", ONNX_MODEL_NO_PRODUCER),
]


@pytest.mark.parametrize(
    ("rule", "data"), FORMATS, ids=[f"{r}-{i}" for i, (r, _) in enumerate(FORMATS)]
)
def test_format_is_recognised(rule: str, data: bytes) -> None:
    found = detect(data)
    assert rule in found
    assert found[rule].count >= 1


@pytest.mark.parametrize(
    "data",
    [
        b"@echo off\nREM build script\n+ not a fastq\n",
        b"@Override\npublic void run() {}\n",
        b"@ACGT\nhello world\n+\n",
        b"## fileformat notes\n",
        b"BAM\x02",
        b"CRAMPED",
        b"\x00" * 128 + b"DICT",
        _zip(["data.pkl.txt", "notes/version.md"]),
        _zip(["archive/data.pkl"]),
        b'{"dtype": "float32", "data_offsets": [0, 8]}',
        b"GGUF\x09\x00\x00\x00",
        b"\x08\x01\x12\x07pytorch\x00\x00",  # protobuf-ish, but ir_version 1 and no next field
        random.Random(5).randbytes(4096),
        b"plain text about GGUF, BAM, CRAM and ONNX files",
    ],
)
def test_format_look_alikes(data: bytes) -> None:
    formats = {"genomic-data", "medical-image", "ml-model"}
    assert not categories(data) & formats


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"remove ITAR scripts; use the IANA ITAR repository", Confidence.LOW),
        (b"This drawing is ITAR controlled.", Confidence.HIGH),  # the marking rule
        # The second line is the marking (a statement about the data): high since issue 10.
        (b"Subject: ITAR\nThe technical data below is export restricted.", Confidence.HIGH),
    ],
)
def test_bare_itar_needs_export_words_near_it(text: bytes, expected: Confidence) -> None:
    """IANA's ITAR (a DNSSEC trust-anchor repository) showed up in a changelog."""
    assert confidence_of(text, "export-control") == expected


def _pkcs12(with_key: bool) -> bytes:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab-server")])
    start = datetime.datetime(2024, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    if with_key:
        return pkcs12.serialize_key_and_certificates(b"lab", key, cert, None,
                                                     BestAvailableEncryption(b"pw"))
    return pkcs12.serialize_key_and_certificates(None, None, None, [cert],
                                                 BestAvailableEncryption(b"pw"))


def test_pkcs12_with_a_key_is_a_private_key_and_a_truststore_is_not() -> None:
    assert "private-key" in categories(_pkcs12(with_key=True))
    assert "private-key" not in categories(_pkcs12(with_key=False))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (b"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkw"
         b"IiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJ"
         b"V_adQssw5c", True),
        (b'config = "eyJhbGciOiJIUzI1NiJ9"  # a base64 JSON header alone', False),
    ],
)
def test_jwt(text: bytes, found: bool) -> None:
    assert ("credential" in categories(text)) is found


# -- markings and mentions, through the real rules (issue 10) --------------------------------


@pytest.mark.parametrize(
    ("text", "category", "confidence"),
    [
        (b"Export Controlled Information\nThermal model of the baffle\n", "export-control",
         Confidence.HIGH),
        (b"This report contains export-controlled technical data.", "export-control",
         Confidence.HIGH),
        (b"The seminar explains how to handle export-controlled items abroad.",
         "export-control", Confidence.LOW),
        (b"(CUI) The test article failed at 4.2 g.\n(U) Schedule follows.\n", "cui",
         Confidence.MEDIUM),
        (b"DISTRIBUTION STATEMENT D. Distribution authorized to the DoD and U.S. DoD "
         b"contractors only.", "cui", Confidence.MEDIUM),
        (b"Trainees learn that (CUI) portion marks open a paragraph.", "cui", None),
        ("機密性３情報\n事業計画\n".encode(), "jp-confidential", Confidence.HIGH),
        ("【機密】共同研究の条件\n".encode(), "jp-confidential", Confidence.HIGH),
        ("関係者限り\n議事録\n".encode(), "jp-confidential", Confidence.MEDIUM),
        ("機密性１情報として公開する".encode(), "jp-confidential", None),
        ("情報は機密性１、機密性２、機密性３に区分する。".encode(), "jp-confidential",
         Confidence.LOW),
    ],
)
def test_markings_and_mentions(text: bytes, category: str,
                               confidence: Confidence | None) -> None:
    assert confidence_of(text, category) == confidence
