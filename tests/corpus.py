# Japanese fixtures use full-width brackets as real Japanese documents do.
# ruff: noqa: RUF001
"""The generated golden corpus: every file form dlpd reads, positives and look-alikes.

``build_corpus(root)`` writes the files under ``root`` and returns relative path -> the exact
set of categories a correct scanner reports at the default minimum confidence (medium).
Every expectation follows from how the file is made: valid identifiers are computed here
(Luhn, the My Number check digit, IBAN mod-97), invalid ones are broken on purpose, and the
markings are the contract's own words. Cases a reasonable DLP tool could decide either way
are left out of the table on purpose.

Deterministic: each fixture draws from its own ``random.Random`` seeded by its path, archive
timestamps are fixed and every file's mtime is set to ``FIXED_MTIME``. Builds in well under a
second into a few hundred KiB.
"""

from __future__ import annotations

import bz2
import json
import lzma
import os
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import corpus_formats as fmt

SEED = "dlpd-corpus-1"
FIXED_MTIME = 1_704_164_646  # 2024-01-02

CATEGORIES = frozenset({
    "credit-card", "us-ssn", "jp-my-number", "iban", "credential", "private-key",
    "export-control", "cui", "jp-confidential", "genomic-data", "medical-image", "ml-model",
})

# The member path the contract promises for the nested fixture.
NESTED_PATH = "archives/outer.zip"
NESTED_MEMBER = "outer.zip!inner.tar.gz!deep/form.docx"


@dataclass
class Context:
    """What a fixture writer gets: its own seeded RNG and a place to note every sensitive
    literal it wrote, so tests can check that none of them leaks into dlpd's output."""

    rng: random.Random
    secrets: set[str] = field(default_factory=set)

    def secret(self, value: str, *forms: str) -> str:
        self.secrets.add(value)
        self.secrets.update(forms)
        return value


@dataclass(frozen=True)
class Fixture:
    path: str
    categories: frozenset[str]
    make: Callable[[Context], bytes]
    why: str


FIXTURES: dict[str, Fixture] = {}


def fixture(path: str, *categories: str) -> Callable[[Callable[[Context], bytes]], Callable]:
    unknown = set(categories) - CATEGORIES
    assert not unknown, f"{path}: unknown categories {unknown}"
    assert path not in FIXTURES, path

    def register(make: Callable[[Context], bytes]) -> Callable[[Context], bytes]:
        FIXTURES[path] = Fixture(path, frozenset(categories), make, (make.__doc__ or "").strip())
        return make

    return register


@dataclass(frozen=True)
class Corpus:
    root: Path
    expected: dict[str, frozenset[str]]
    secrets: frozenset[str]


def build(root: Path) -> Corpus:
    root = Path(root)
    secrets: set[str] = set()
    for fx in FIXTURES.values():
        ctx = Context(random.Random(f"{SEED}:{fx.path}"))
        data = fx.make(ctx)
        target = root / fx.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (FIXED_MTIME, FIXED_MTIME))
        secrets |= ctx.secrets
    return Corpus(root, expected(), frozenset(secrets))


def build_corpus(root: Path) -> dict[str, frozenset[str]]:
    return build(root).expected


def expected() -> dict[str, frozenset[str]]:
    return {path: fx.categories for path, fx in FIXTURES.items()}


# -- shared material --------------------------------------------------------------------------


def _card(ctx: Context, prefix: str, length: int) -> str:
    number = fmt.make_card(ctx.rng, prefix, length)
    sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    return ctx.secret(number, fmt.grouped(number, sizes), fmt.grouped(number, sizes, "-"))


def _ssn(ctx: Context) -> str:
    ssn = fmt.make_ssn(ctx.rng)
    return ctx.secret(ssn, ssn.replace("-", ""))


def _my_number(ctx: Context) -> str:
    number = fmt.make_my_number(ctx.rng)
    return ctx.secret(number, fmt.grouped(number, (4, 4, 4)))


def _iban(ctx: Context, country: str, bban: str) -> str:
    iban = fmt.make_iban(country, bban)
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return ctx.secret(iban, spaced)


def _key(name: str) -> fmt.RsaKey:
    return fmt.make_rsa_key(f"{SEED}:rsa:{name}")


def _key_secret(ctx: Context, pem_text: str) -> str:
    """The base64 body lines of a private key are the secret."""
    for line in pem_text.splitlines():
        if line and not line.startswith("-----"):
            ctx.secrets.add(line)
    return pem_text


def _alnum(ctx: Context, n: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(ctx.rng.choice(alphabet) for _ in range(n))


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _github_token(ctx: Context) -> str:
    """``ghp_`` + 30 random base62 + base62(CRC32 of the random part), as GitHub issues them."""
    body = _alnum(ctx, 30, _B62)
    crc, check = zlib.crc32(body.encode()), ""
    while crc:
        crc, rem = divmod(crc, 62)
        check = _B62[rem] + check
    return ctx.secret("ghp_" + body + check.rjust(6, "0"))


def _aws_pair(ctx: Context) -> tuple[str, str]:
    key_id = "AKIA" + _alnum(ctx, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    secret = _alnum(ctx, 40, _B62 + "+/")
    return ctx.secret(key_id), ctx.secret(secret)


def _password(ctx: Context) -> str:
    return ctx.secret(_alnum(ctx, 12) + "!" + _alnum(ctx, 5))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


# -- plain text in four encodings --------------------------------------------------------------


@fixture("text/card_utf8.txt", "credit-card")
def _card_utf8(ctx: Context) -> bytes:
    """Visa, Mastercard, Amex with Luhn computed, next to 'credit card number'."""
    visa, mc, amex = _card(ctx, "4", 16), _card(ctx, "52", 16), _card(ctx, "37", 15)
    return _utf8(
        "Refund request #5521\n"
        f"Customer credit card number: {fmt.grouped(visa, (4, 4, 4, 4))}\n"
        f"Second card number on file: {fmt.grouped(mc, (4, 4, 4, 4), '-')}\n"
        f"Corporate card number (Amex): {fmt.grouped(amex, (4, 6, 5))}\n"
        "Please refund the last charge.\n"
    )


@fixture("text/card_test_number.txt", "credit-card")
def _card_test_number(ctx: Context) -> bytes:
    """The well-known Visa test number with a card keyword."""
    return _utf8(f"Payment gateway smoke test. Credit card number: "
                 f"{ctx.secret('4111111111111111', '4111 1111 1111 1111')}\n")


@fixture("text/ssn_utf8.txt", "us-ssn")
def _ssn_utf8(ctx: Context) -> bytes:
    """SSNs with valid area/group/serial and the keyword SSN."""
    a, b = _ssn(ctx), _ssn(ctx)
    return _utf8(f"Onboarding checklist\nEmployee: R. Alvarez, SSN: {a}\n"
                 f"Spouse social security number: {b}\n")


@fixture("text/ssn_utf16le.txt", "us-ssn")
def _ssn_utf16(ctx: Context) -> bytes:
    """UTF-16 LE with BOM, as Windows Notepad and Excel 'Unicode text' write it."""
    text = f"Payroll export\r\nName\tSSN\r\nJ. Smith\t{_ssn(ctx)}\r\nK. Jones\t{_ssn(ctx)}\r\n"
    return b"\xff\xfe" + text.encode("utf-16-le")


@fixture("text/mynumber_utf8.txt", "jp-my-number")
def _my_number_utf8(ctx: Context) -> bytes:
    """My Numbers with the check digit computed, next to 個人番号."""
    a, b = _my_number(ctx), _my_number(ctx)
    return _utf8(f"従業員 個人番号一覧\n山田 太郎 個人番号: {fmt.grouped(a, (4, 4, 4))}\n"
                 f"佐藤 花子 個人番号: {b}\n")


@fixture("text/shagaihi_utf16le.txt", "jp-confidential", "jp-my-number")
def _shagaihi_utf16(ctx: Context) -> bytes:
    """UTF-16 LE with BOM: 社外秘 marking and a My Number next to マイナンバー."""
    text = ("社外秘\r\n年末調整 提出書類\r\n"
            f"マイナンバー: {_my_number(ctx)}\r\n提出期限: 12月10日\r\n")
    return b"\xff\xfe" + text.encode("utf-16-le")


@fixture("text/cp932_card.txt", "jp-confidential", "credit-card")
def _cp932_card(ctx: Context) -> bytes:
    """CP932 (Shift_JIS): 【秘】 marking and a JCB number next to クレジットカード番号."""
    jcb = _card(ctx, "3566", 16)
    text = ("【秘】 出張精算について\r\n"
            f"法人クレジットカード番号: {fmt.grouped(jcb, (4, 4, 4, 4))}\r\n有効期限: 08/27\r\n")
    return text.encode("cp932")


@fixture("text/eucjp_export.txt", "jp-confidential", "export-control")
def _eucjp_export(ctx: Context) -> bytes:
    """EUC-JP: 取扱注意 marking and an 外為法 / リスト規制 該当 / 該非判定 notice."""
    text = ("取扱注意\n"
            "本資料は外為法に基づくリスト規制に該当する技術を含みます。\n"
            "該非判定: 該当（輸出令別表第1 の 3項）\n"
            "輸出・提供の前に安全保障輸出管理室へ相談してください。\n")
    return text.encode("euc_jp")


@fixture("text/ssn_utf8_bom.txt", "us-ssn")
def _ssn_bom(ctx: Context) -> bytes:
    """UTF-8 with a byte-order mark, as Windows tools write it."""
    return b"\xef\xbb\xbf" + _utf8(f"Tax form draft\r\nSSN: {_ssn(ctx)}\r\n")


@fixture("text/shagaihi_utf16be.txt", "jp-confidential")
def _shagaihi_utf16be(ctx: Context) -> bytes:
    """UTF-16 BE with BOM: 社外秘 marking."""
    return b"\xfe\xff" + "【社外秘】\n品質不良の調査報告\n".encode("utf-16-be")


@fixture("text/iban_utf8.txt", "iban")
def _iban_utf8(ctx: Context) -> bytes:
    """IBANs with mod-97 check digits computed, plus the two published examples."""
    de = _iban(ctx, "DE", fmt.digits(ctx.rng, 18))
    nl = _iban(ctx, "NL", "ABNA" + fmt.digits(ctx.rng, 10))
    ctx.secret("DE89370400440532013000", "DE89 3704 0044 0532 0130 00")
    ctx.secret("GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32")
    spaced = " ".join(de[i : i + 4] for i in range(0, len(de), 4))
    return _utf8(
        "Supplier bank details\n"
        f"IBAN: {spaced}\nIBAN: {nl}\n"
        "Old account IBAN: DE89 3704 0044 0532 0130 00\n"
        "UK branch IBAN: GB82WEST12345698765432\n"
    )


@fixture("text/itar_notice.txt", "export-control")
def _itar(ctx: Context) -> bytes:
    """The standard ITAR warning statement."""
    return _utf8(
        "WARNING - This document contains technical data whose export is restricted by the\n"
        "Arms Export Control Act (Title 22, U.S.C., Sec 2751, et seq.) and the International\n"
        "Traffic in Arms Regulations (ITAR), 22 CFR 120-130. Violations of these export laws\n"
        "are subject to severe criminal penalties.\n\nThermal model of the star tracker baffle.\n"
    )


@fixture("text/eccn_notice.txt", "export-control")
def _eccn(ctx: Context) -> bytes:
    """An EAR notice with an ECCN code and the word ECCN."""
    return _utf8(
        "Export classification: ECCN 3A001.a.5.a\n"
        "These commodities are controlled under the Export Administration Regulations (EAR).\n"
        "Diversion contrary to U.S. law is prohibited.\n"
    )


@fixture("text/gaitame_utf8.txt", "export-control")
def _gaitame(ctx: Context) -> bytes:
    """UTF-8: 該非判定書 for a リスト規制 該当 item under 外為法."""
    return _utf8("該非判定書\n品名: 高速ADコンバータ評価ボード\n"
                 "判定: リスト規制 該当（外為法 輸出貿易管理令 別表第1 7項）\n")


@fixture("text/cui_banner.txt", "cui")
def _cui(ctx: Context) -> bytes:
    """CUI banner lines top and bottom, with the category marking."""
    return _utf8("CUI//SP-PRVCY\nCONTROLLED UNCLASSIFIED INFORMATION\n\n"
                 "Participant roster for the sleep study, wave 3.\n\nCUI//SP-PRVCY\n")


@fixture("text/gokuhi.txt", "jp-confidential")
def _gokuhi(ctx: Context) -> bytes:
    """極秘 as a document marking."""
    return _utf8("極秘\n新材料の量産化計画（2025年度）\n配布先: 役員のみ\n")


@fixture("text/hi_bracket.txt", "jp-confidential")
def _hi_bracket(ctx: Context) -> bytes:
    """【秘】 as a marking in a title."""
    return _utf8("【秘】共同研究契約の交渉メモ\n先方の提示額は前回と同じ。\n")


@fixture("text/hi_alone.txt", "jp-confidential")
def _hi_alone(ctx: Context) -> bytes:
    """秘 alone on the first line: the stamp form of the marking."""
    return _utf8("秘\n2025年度 研究計画書（案）\n研究代表者: 鈴木\n")


@fixture("text/bugaihi.txt", "jp-confidential")
def _bugaihi(ctx: Context) -> bytes:
    """部外秘 and 関係者外秘 markings."""
    return _utf8("部外秘\n装置故障報告\n\n（関係者外秘）復旧見込みは未定。\n")


@fixture("text/kitchen_sink.txt", "credit-card", "us-ssn", "iban", "cui", "export-control")
def _kitchen_sink(ctx: Context) -> bytes:
    """Five categories in one file."""
    card, ssn = _card(ctx, "6011", 16), _ssn(ctx)
    iban = _iban(ctx, "DE", fmt.digits(ctx.rng, 18))
    return _utf8(
        "CUI//SP-EXPT\nCONTROLLED UNCLASSIFIED INFORMATION\n"
        "Subject to the International Traffic in Arms Regulations (ITAR).\n"
        f"Contractor SSN: {ssn}\nPurchase card number: {card}\nRemit to IBAN {iban}\n"
    )


# -- structured text --------------------------------------------------------------------------


@fixture("csv/payments.csv", "credit-card")
def _payments_csv(ctx: Context) -> bytes:
    """A CSV with a card_number column (keyword in the header)."""
    rows = ["order_id,customer,card_number,expiry,amount"]
    for i, (prefix, length) in enumerate((("4", 16), ("55", 16), ("34", 15), ("6011", 16))):
        rows.append(f"A-{1001 + i},customer{i},{_card(ctx, prefix, length)},0{i + 3}/27,"
                    f"{ctx.rng.randint(10, 900)}.00")
    return _utf8("\n".join(rows) + "\n")


@fixture("csv/payments_far_header.csv", "credit-card")
def _payments_far(ctx: Context) -> bytes:
    """The card_number header is the keyword for the whole column: the first card number
    comes 300 rows (about 10 KB) below it, after the cash payments."""
    rows = ["payment_id,date,method,card_number,amount"]
    rows += [f"P{i:05d},2024-02-{1 + i % 28:02d},cash,,{ctx.rng.randint(5, 90)}.00"
             for i in range(300)]
    rows += [f"P{i:05d},2024-03-{1 + i % 28:02d},online,{_card(ctx, '4', 16)},"
             f"{ctx.rng.randint(5, 90)}.00" for i in range(300, 305)]
    return _utf8("\n".join(rows) + "\n")


@fixture("csv/employees.csv", "us-ssn")
def _employees_csv(ctx: Context) -> bytes:
    """A CSV with an ssn column."""
    rows = ["employee_id,name,ssn,department"]
    rows += [f"E{100 + i},person{i},{_ssn(ctx)},lab{i % 3}" for i in range(5)]
    return _utf8("\n".join(rows) + "\n")


@fixture("data/customer.json", "credit-card")
def _customer_json(ctx: Context) -> bytes:
    """JSON with a card number under a card_number key."""
    doc = {"customer": {"name": "M. Chen", "payment": {"method": "credit card",
           "card_number": _card(ctx, "4", 16), "expiry": "11/26"}}}
    return _utf8(json.dumps(doc, indent=2) + "\n")


@fixture("data/ci_tokens.json", "credential")
def _ci_json(ctx: Context) -> bytes:
    """JSON with a GitHub and a GitLab personal access token."""
    doc = {"github_token": _github_token(ctx),
           "gitlab_token": ctx.secret("glpat-" + _alnum(ctx, 20)), "retries": 3}
    return _utf8(json.dumps(doc, indent=2) + "\n")


# -- code and configuration -------------------------------------------------------------------


@fixture("code/db.py", "credential")
def _db_py(ctx: Context) -> bytes:
    """A hard-coded database password in Python."""
    return _utf8(
        "import psycopg\n\nDB_HOST = \"db.lab.example.org\"\nDB_USER = \"lims\"\n"
        f"DB_PASSWORD = \"{_password(ctx)}\"\n\n\ndef connect():\n"
        "    return psycopg.connect(host=DB_HOST, user=DB_USER, password=DB_PASSWORD)\n"
    )


@fixture("code/notify.py", "credential")
def _notify_py(ctx: Context) -> bytes:
    """A Slack bot token in code."""
    token = ctx.secret(f"xoxb-{fmt.digits(ctx.rng, 12)}-{fmt.digits(ctx.rng, 13)}-"
                       f"{_alnum(ctx, 24)}")
    return _utf8(f"import requests\n\nSLACK_TOKEN = \"{token}\"\n\n\ndef post(text):\n"
                 "    requests.post(\"https://slack.com/api/chat.postMessage\",\n"
                 "                  headers={\"Authorization\": f\"Bearer {SLACK_TOKEN}\"},\n"
                 "                  json={\"channel\": \"#lab\", \"text\": text})\n")


@fixture("code/deploy.sh", "credential")
def _deploy_sh(ctx: Context) -> bytes:
    """A fine-grained GitHub token hard-coded in a shell script."""
    token = ctx.secret(f"github_pat_11{_alnum(ctx, 20, _B62)}_{_alnum(ctx, 59)}")
    return _utf8(f"#!/bin/sh\nset -eu\nexport GITHUB_TOKEN={token}\n"
                 "gh release upload v1.2.0 dist/*.tar.gz\n")


@fixture("code/bundle.min.js", "credential")
def _minified_js(ctx: Context) -> bytes:
    """A 1.5 MB minified bundle with a GitHub token in its last line."""
    letters = "bdfghklmnpqrtvwxz"
    parts = []
    size = 0
    while size < 1_500_000:
        name = "".join(ctx.rng.choice(letters) for _ in range(6))
        part = f"function {name}(b,d){{return b*{ctx.rng.randint(2, 99)}+d.{name[:3]}}};"
        parts.append(part)
        size += len(part)
    token = _github_token(ctx)
    return _utf8("".join(parts) + f'\nconst gh="{token}";fetch(u,{{headers:{{a:gh}}}});\n')


@fixture("config/.env", "credential")
def _dotenv(ctx: Context) -> bytes:
    """An AWS access key id with its secret access key."""
    key_id, secret = _aws_pair(ctx)
    return _utf8(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n"
                 "AWS_DEFAULT_REGION=ap-northeast-1\n")


@fixture("config/database.yml", "credential")
def _database_yml(ctx: Context) -> bytes:
    """A hard-coded password in YAML configuration."""
    return _utf8("production:\n  adapter: postgresql\n  host: db.lab.example.org\n"
                 f"  username: lims\n  password: \"{_password(ctx)}\"\n")


@fixture("config/app.json", "credential")
def _app_json(ctx: Context) -> bytes:
    """A hard-coded password in JSON configuration."""
    doc = {"database": {"host": "db.lab.example.org", "user": "lims",
                        "password": _password(ctx)}, "debug": False}
    return _utf8(json.dumps(doc, indent=2) + "\n")


@fixture("config/application.properties", "credential")
def _properties(ctx: Context) -> bytes:
    """A hard-coded password in Java properties."""
    return _utf8("spring.datasource.url=jdbc:postgresql://db.lab.example.org/lims\n"
                 f"spring.datasource.username=lims\nspring.datasource.password={_password(ctx)}\n")


# -- keys -------------------------------------------------------------------------------------


@fixture("keys/server.key", "private-key")
def _pkcs8(ctx: Context) -> bytes:
    """PKCS#8 PEM private key (BEGIN PRIVATE KEY)."""
    return _utf8(_key_secret(ctx, fmt.pem("PRIVATE KEY", fmt.pkcs8_private_der(_key("server")))))


@fixture("keys/legacy_rsa.pem", "private-key")
def _pkcs1(ctx: Context) -> bytes:
    """PKCS#1 PEM private key (BEGIN RSA PRIVATE KEY)."""
    der = fmt.pkcs1_private_der(_key("legacy"))
    return _utf8(_key_secret(ctx, fmt.pem("RSA PRIVATE KEY", der)))


@fixture("keys/id_rsa", "private-key")
def _openssh(ctx: Context) -> bytes:
    """OpenSSH private key (openssh-key-v1, unencrypted)."""
    text = fmt.openssh_private_key(_key("ssh"), "alice@lab", ctx.rng.getrandbits(32))
    return _utf8(_key_secret(ctx, text))


@fixture("keys/bundle.pem", "private-key")
def _bundle(ctx: Context) -> bytes:
    """A certificate followed by its private key: the key makes it positive."""
    k = _key("server")
    cert = fmt.pem("CERTIFICATE", fmt.self_signed_cert_der(k, "lims.lab.example.org", 4242))
    return _utf8(cert + _key_secret(ctx, fmt.pem("PRIVATE KEY", fmt.pkcs8_private_der(k))))


@fixture("keys/ec.pem", "private-key")
def _ec(ctx: Context) -> bytes:
    """SEC1 PEM EC private key on P-256 (BEGIN EC PRIVATE KEY)."""
    return _utf8(_key_secret(ctx, fmt.pem("EC PRIVATE KEY", fmt.ec_private_der(ctx.rng))))


@fixture("keys/server.crt")
def _cert(ctx: Context) -> bytes:
    """Negative: a certificate is public."""
    k = _key("server")
    return _utf8(fmt.pem("CERTIFICATE", fmt.self_signed_cert_der(k, "lims.lab.example.org", 4242)))


@fixture("keys/public.pem")
def _public_pem(ctx: Context) -> bytes:
    """Negative: an SPKI public key."""
    return _utf8(fmt.pem("PUBLIC KEY", fmt.spki_der(_key("server"))))


@fixture("keys/id_rsa.pub")
def _public_ssh(ctx: Context) -> bytes:
    """Negative: an OpenSSH public key line."""
    return _utf8(fmt.openssh_public_line(_key("ssh"), "alice@lab"))


# -- office documents -------------------------------------------------------------------------


@fixture("office/split_runs.docx", "credit-card", "jp-confidential")
def _docx(ctx: Context) -> bytes:
    """docx: the card number split across two runs; 社外秘 only in the header part."""
    ctx.secret("4111111111111111", "4111 1111 1111 1111")
    return fmt.docx_bytes(
        [["Expense claim"], ["Credit card ", "number: "],
         ["4111 11", "11 1111 1111"], ["Approved by the lab manager."]],
        header=["社外秘"],
    )


@fixture("office/card_table.docx", "credit-card")
def _docx_table(ctx: Context) -> bytes:
    """docx: the keyword in a table header cell, the numbers in the cells below."""
    return fmt.docx_bytes(
        [["Corporate cards issued in March"]],
        table=[["Holder", "Card number", "Limit"]]
        + [[f"staff{i}", fmt.grouped(_card(ctx, "4", 16), (4, 4, 4, 4)), "5000"]
           for i in range(3)],
    )


@fixture("office/parts_reordered.docx", "jp-confidential")
def _docx_reordered(ctx: Context) -> bytes:
    """docx whose [Content_Types].xml is the last zip entry, as some generators write it
    (Word and LibreOffice open it), so type detection cannot rely on the first entry."""
    return fmt.docx_bytes([["関係者外秘"], ["試作ラインの立ち上げ計画"]], content_types_last=True)


@fixture("office/payroll.xlsx", "us-ssn", "jp-my-number")
def _xlsx(ctx: Context) -> bytes:
    """xlsx: headers and SSNs in shared strings, My Numbers as numeric cells."""
    rows: list[list[str | int | float]] = [["name", "SSN", "個人番号", "hours"]]
    for i in range(3):
        rows.append([f"staff{i}", _ssn(ctx), int(_my_number(ctx)), 37.5])
    return fmt.xlsx_bytes(rows, sheet="Payroll")


@fixture("office/inline_strings.xlsx", "us-ssn")
def _xlsx_inline(ctx: Context) -> bytes:
    """xlsx with inline-string cells (no shared-strings entries used) holding SSNs."""
    rows: list[list[str | int | float]] = [["employee", "SSN"]]
    rows += [[f"staff{i}", _ssn(ctx)] for i in range(3)]
    return fmt.xlsx_bytes(rows, sheet="HR", inline=True)


@fixture("office/review.pptx", "export-control")
def _pptx(ctx: Context) -> bytes:
    """pptx: an ITAR notice split across runs on a slide."""
    return fmt.pptx_bytes([
        [["Program review Q3"]],
        [["EXPORT CONTROLLED: ", "contains technical data subject to the International ",
          "Traffic in Arms Regulations (IT", "AR), 22 CFR 120-130."],
         ["Do not forward outside the program."]],
    ])


@fixture("office/memo.odt", "cui", "credit-card")
def _odt(ctx: Context) -> bytes:
    """odt: CUI banner split by text:span; a card number spaced with text:s."""
    card = _card(ctx, "51", 16)
    g = fmt.grouped(card, (4, 4, 4, 4)).split()
    return fmt.odt_bytes([
        'CUI//SP-<text:span text:style-name="T1">PRVCY</text:span>',
        "Travel booking",
        f"Card number:<text:s/>{g[0]}<text:s/>{g[1]}<text:s/>{g[2][:2]}"
        f'<text:span text:style-name="T1">{g[2][2:]}</text:span><text:s/>{g[3]}',
    ])


@fixture("office/payees.ods", "iban")
def _ods(ctx: Context) -> bytes:
    """ods: an IBAN column."""
    rows: list[list[str | float]] = [["payee", "IBAN", "amount"]]
    for i in range(3):
        rows.append([f"vendor{i}", _iban(ctx, "DE", fmt.digits(ctx.rng, 18)), 120.5 + i])
    return fmt.ods_bytes(rows, sheet="Payees")


@fixture("office/briefing.odp", "jp-confidential")
def _odp(ctx: Context) -> bytes:
    """odp: 取扱注意 on a slide."""
    return fmt.odp_bytes([["取扱注意", "新規事業の説明資料"], ["スケジュール", "2025年4月 開始"]])


# -- PDF --------------------------------------------------------------------------------------


@fixture("pdf/cui_split.pdf", "cui")
def _pdf_cui(ctx: Context) -> bytes:
    """FlateDecode content stream; both CUI markings split across Tj/TJ on one line."""
    return fmt.pdf_bytes(
        b"BT /F1 14 Tf 72 740 Td (CONTROLLED ) Tj (UNCLASS) Tj [(IFIED) -12 ( INFOR)] TJ "
        b"(MATION) Tj ET\n"
        b"BT /F1 12 Tf 72 716 Td (CU) Tj (I//SP-) Tj [(PR) 8 (VCY)] TJ ET\n"
        b"BT /F1 11 Tf 72 680 Td (Interview schedule for the cohort follow-up.) Tj ET\n"
    )


@fixture("pdf/hex_strings.pdf", "cui")
def _pdf_hex(ctx: Context) -> bytes:
    """The banner written as hex strings (<...> Tj), as many PDF producers do."""
    banner = b"CONTROLLED UNCLASSIFIED INFORMATION".hex().upper().encode()
    return fmt.pdf_bytes(
        b"BT /F1 14 Tf 72 740 Td <" + banner + b"> Tj ET\n"
        b"BT /F1 11 Tf 72 700 Td <4D656574696E67206E6F746573> Tj ET\n"
    )


@fixture("pdf/ssn_form.pdf", "us-ssn")
def _pdf_ssn(ctx: Context) -> bytes:
    """FlateDecode content stream with an SSN next to its label."""
    ssn = _ssn(ctx)
    return fmt.pdf_bytes(
        b"BT /F1 12 Tf 72 740 Td (W-4 worksheet) Tj ET\n"
        + b"BT /F1 11 Tf 72 710 Td (Social Security Number \\(SSN\\): " + ssn.encode()
        + b") Tj ET\n"
    )


# -- archives ---------------------------------------------------------------------------------


@fixture("archives/hr_export.zip", "us-ssn")
def _zip(ctx: Context) -> bytes:
    """zip: an SSN list and a clean readme."""
    return fmt.zip_bytes([
        ("README.txt", b"Quarterly HR export.\n"),
        ("employees/ssn_list.txt", _utf8(f"SSN list\n{_ssn(ctx)}\n{_ssn(ctx)}\n")),
    ])


@fixture("archives/bundle.tar", "cui")
def _tar(ctx: Context) -> bytes:
    """Plain tar: a CUI banner in one member."""
    return fmt.tar_bytes([("docs/roster.txt", _utf8("CUI//SP-PRVCY\nRoster, wave 4.\n")),
                          ("docs/plan.txt", b"Fieldwork plan.\n")])


@fixture("archives/notes.tar.bz2", "jp-confidential")
def _tar_bz2(ctx: Context) -> bytes:
    """tar.bz2: a 部外秘 memo."""
    return bz2.compress(fmt.tar_bytes([("notes/memo.txt", _utf8("部外秘\n組織改編について\n"))]))


@fixture("archives/dicom_export.zip", "medical-image")
def _dicom_zip(ctx: Context) -> bytes:
    """A PACS export: DICOM files with no extension inside a zip."""
    return fmt.zip_bytes([("DICOM/IM00001", fmt.dicom_bytes(ctx.rng)),
                          ("README.txt", b"Exported from the scanner console.\n")])


@fixture("archives/backup.tar.gz", "private-key")
def _tar_gz(ctx: Context) -> bytes:
    """tar.gz: a home backup with an OpenSSH private key."""
    key = fmt.openssh_private_key(_key("ssh"), "alice@lab", 7)
    return fmt.tar_gz_bytes([
        ("home/alice/notes.txt", b"remember to rotate the backups\n"),
        ("home/alice/.ssh/id_rsa", _utf8(_key_secret(ctx, key))),
    ])


@fixture("archives/payments.csv.gz", "credit-card")
def _gz(ctx: Context) -> bytes:
    """gzip: a CSV with a card_number column."""
    rows = ["order_id,card_number,amount"]
    rows += [f"B-{i},{_card(ctx, '4', 16)},{10 * i}.00" for i in range(1, 4)]
    return fmt.gzip_bytes(_utf8("\n".join(rows) + "\n"))


@fixture("archives/transfer.log.bz2", "iban")
def _bz2(ctx: Context) -> bytes:
    """bzip2: a transfer log with IBANs."""
    lines = [f"2024-03-0{i} transfer ok IBAN {_iban(ctx, 'NL', 'RABO' + fmt.digits(ctx.rng, 10))}"
             for i in range(1, 4)]
    return bz2.compress(_utf8("\n".join(lines) + "\n"))


@fixture("archives/memo.txt.xz", "jp-confidential")
def _xz(ctx: Context) -> bytes:
    """xz: a memo marked 社外秘."""
    return lzma.compress(_utf8("社外秘\n価格改定の方針（案）\n"), preset=6)


@fixture(NESTED_PATH, "jp-my-number")
def _nested(ctx: Context) -> bytes:
    """zip -> tar.gz -> docx holding a My Number (member outer.zip!inner.tar.gz!deep/form.docx)."""
    number = _my_number(ctx)
    docx = fmt.docx_bytes([["扶養控除等申告書"], [f"個人番号: {fmt.grouped(number, (4, 4, 4))}"]])
    inner = fmt.tar_gz_bytes([("deep/readme.txt", b"forms\n"), ("deep/form.docx", docx)])
    return fmt.zip_bytes([("inner.tar.gz", inner), ("index.txt", b"one form\n")])


@fixture("archives/clean.zip")
def _clean_zip(ctx: Context) -> bytes:
    """Negative: a zip of measurements."""
    return fmt.zip_bytes([("run1/measurements.csv", _measurements(ctx)),
                          ("run1/notes.md", b"# Run 1\nCalibrated at 09:00.\n")])


# -- research data ----------------------------------------------------------------------------


@fixture("research/reads.fastq", "genomic-data")
def _fastq(ctx: Context) -> bytes:
    """FASTQ reads with Illumina-style names."""
    return _utf8(fmt.fastq_text(ctx.rng))


@fixture("research/reads.fastq.gz", "genomic-data")
def _fastq_gz(ctx: Context) -> bytes:
    """gzip-compressed FASTQ, the usual form off a sequencer."""
    return fmt.gzip_bytes(_utf8(fmt.fastq_text(ctx.rng, reads=40)))


@fixture("research/aln.sam", "genomic-data")
def _sam(ctx: Context) -> bytes:
    """SAM with @HD/@SQ/@RG/@PG header and alignments."""
    return _utf8(fmt.sam_text(fmt.make_reads(ctx.rng)))


@fixture("research/aln.bam", "genomic-data")
def _bam(ctx: Context) -> bytes:
    """BAM: BGZF blocks (BC extra field) holding BAM\\1 + header + records."""
    return fmt.bam_bytes(fmt.make_reads(ctx.rng))


@fixture("research/aln.cram", "genomic-data")
def _cram(ctx: Context) -> bytes:
    """CRAM 3.0 file definition, header container, EOF container."""
    return fmt.cram_bytes()


@fixture("research/calls.vcf", "genomic-data")
def _vcf(ctx: Context) -> bytes:
    """VCFv4.2 with a sample column."""
    return _utf8(fmt.vcf_text(ctx.rng))


@fixture("research/calls.vcf.gz", "genomic-data")
def _vcf_gz(ctx: Context) -> bytes:
    """bgzip-compressed VCF."""
    return fmt.bgzf_bytes(_utf8(fmt.vcf_text(ctx.rng)))


@fixture("research/ct_slice.dcm", "medical-image")
def _dicom(ctx: Context) -> bytes:
    """DICOM: 128-byte preamble, DICM, file meta, a 4x4 CT image."""
    return fmt.dicom_bytes(ctx.rng)


@fixture("models/tiny.safetensors", "ml-model")
def _safetensors(ctx: Context) -> bytes:
    """safetensors: u64 LE header length, JSON header with dtype/shape/data_offsets, data."""
    return fmt.safetensors_bytes(ctx.rng)


@fixture("models/tiny.gguf", "ml-model")
def _gguf(ctx: Context) -> bytes:
    """GGUF v3 with metadata and one tensor."""
    return fmt.gguf_bytes(ctx.rng)


@fixture("models/checkpoint.pt", "ml-model")
def _torch(ctx: Context) -> bytes:
    """A torch.save zip: archive/data.pkl, archive/version, archive/data/0."""
    return fmt.torch_checkpoint_bytes(ctx.rng)


@fixture("models/relu.onnx", "ml-model")
def _onnx(ctx: Context) -> bytes:
    """ONNX ModelProto: ir_version 8, producer pytorch, a one-node graph, opset 17."""
    return fmt.onnx_bytes()


# -- look-alikes: nothing to report -----------------------------------------------------------


def _measurements(ctx: Context) -> bytes:
    rows = ["sample_id,timestamp,temperature_c,ph,od600"]
    for i in range(20):
        rows.append(f"S-{i:04d},2024-03-01T{8 + i // 4:02d}:{15 * (i % 4):02d}:00,"
                    f"{ctx.rng.uniform(20, 37):.2f},{ctx.rng.uniform(6.5, 7.5):.2f},"
                    f"{ctx.rng.uniform(0.1, 1.8):.3f}")
    return _utf8("\n".join(rows) + "\n")


@fixture("neg/measurements.csv")
def _neg_measurements(ctx: Context) -> bytes:
    """An ordinary CSV of measurements."""
    return _measurements(ctx)


@fixture("neg/guitar_circuit.txt")
def _neg_guitar(ctx: Context) -> bytes:
    """'ITAR' inside guitar, 'CUI' inside circuit/biscuit, 'EAR' inside year/research."""
    return _utf8(
        "GUITAR AMPLIFIER CIRCUIT NOTES\n"
        "The guitarist rebuilt the tube circuit of her guitar amp this year. The circuitry\n"
        "is clear: a biscuit-sized board, one short circuit fixed, and research into cuisine\n"
        "for the lab party. Guitars, circuits, gear, and early-career researchers welcome.\n"
    )


@fixture("neg/hisho_ja.txt")
def _neg_hisho(ctx: Context) -> bytes:
    """秘書 (secretary), 秘密保持契約 (NDA), 神秘的: 秘 in words, never a marking."""
    return _utf8("秘書課からのお知らせ\n"
                 "共同研究の前に秘密保持契約（NDA）を締結してください。\n"
                 "手続きは秘書室が担当します。オーロラは神秘的でした。\n")


@fixture("neg/card_luhn_invalid.txt")
def _neg_luhn(ctx: Context) -> bytes:
    """16-digit sample IDs with card prefixes but a wrong Luhn digit, next to 'card'."""
    ids = [fmt.break_last_digit(fmt.make_card(ctx.rng, p, 16), ctx.rng) for p in ("4", "53", "4")]
    assert not any(fmt.is_luhn_valid(i) for i in ids)
    return _utf8("Freezer inventory\n" + "".join(
        f"Sample card {n}: tube rack id {fmt.grouped(i, (4, 4, 4, 4))}\n" for n, i in enumerate(ids)
    ) + "Card number on the rack label is the sample id, not a payment card.\n")


@fixture("neg/card_bad_issuer.txt")
def _neg_card_issuer(ctx: Context) -> bytes:
    """Luhn-valid 16-digit numbers starting with 0 (no issuer) next to 'card number'."""
    numbers = [fmt.make_card(ctx.rng, "0", 16) for _ in range(2)]
    assert all(fmt.is_luhn_valid(n) for n in numbers)
    return _utf8("Library services\n" + "".join(
        f"Library card number: {fmt.grouped(n, (4, 4, 4, 4))}\n" for n in numbers))


@fixture("neg/card_no_keyword.txt")
def _neg_card_no_keyword(ctx: Context) -> bytes:
    """Luhn-valid 16-digit numbers with no card keyword: low confidence, below the default."""
    numbers = [fmt.make_card(ctx.rng, "4", 16) for _ in range(2)]
    return _utf8("Shipment tracking\n" + "".join(
        f"Parcel {i}: reference {n}\n" for i, n in enumerate(numbers)))


@fixture("neg/ssn_invalid.txt")
def _neg_ssn(ctx: Context) -> bytes:
    """SSN-shaped numbers next to 'SSN' with area 000, 666, 9xx, group 00 or serial 0000."""
    bad = [f"000-{ctx.rng.randint(10, 99)}-{ctx.rng.randint(1000, 9999)}",
           f"666-{ctx.rng.randint(10, 99)}-{ctx.rng.randint(1000, 9999)}",
           f"9{ctx.rng.randint(0, 99):02d}-{ctx.rng.randint(10, 99)}-{ctx.rng.randint(1000, 9999)}",
           f"{ctx.rng.randint(100, 599)}-00-{ctx.rng.randint(1000, 9999)}",
           f"{ctx.rng.randint(100, 599)}-{ctx.rng.randint(10, 99)}-0000"]
    assert not any(fmt.is_ssn_valid(s) for s in bad)
    return _utf8("Test records for the form validator (all rejected):\n"
                 + "".join(f"SSN: {s}\n" for s in bad))


@fixture("neg/mynumber_bad_check.txt")
def _neg_my_number(ctx: Context) -> bytes:
    """12-digit numbers failing the My Number check digit, next to 個人番号."""
    bad = [fmt.break_last_digit(fmt.make_my_number(ctx.rng), ctx.rng) for _ in range(3)]
    assert not any(fmt.is_my_number_valid(b) for b in bad)
    return _utf8("入力エラーの例（検査用数字が不正）\n" + "".join(f"個人番号: {b}\n" for b in bad))


@fixture("neg/iban_bad_check.txt")
def _neg_iban(ctx: Context) -> bytes:
    """IBAN-shaped strings next to 'IBAN' whose mod-97 check fails."""
    bad = [fmt.break_iban(fmt.make_iban("DE", fmt.digits(ctx.rng, 18))),
           fmt.break_iban("DE89370400440532013000")]
    assert not any(fmt.is_iban_valid(b) for b in bad)
    return _utf8("Rejected by the bank (checksum):\n" + "".join(f"IBAN: {b}\n" for b in bad))


@fixture("neg/policy_keywords.txt")
def _neg_policy_keywords(ctx: Context) -> bytes:
    """Every identifier keyword and no identifier: nothing for a validator to confirm."""
    return _utf8(
        "Data handling reminder\n"
        "Never send a credit card number, CVV, SSN, social security number, IBAN or password\n"
        "by email. Visa, Mastercard and JCB statements go to the finance office.\n"
        "個人番号（マイナンバー）やクレジットカード番号をメールで送らないでください。\n"
    )


@fixture("neg/empty.zip")
def _neg_empty_zip(ctx: Context) -> bytes:
    """A valid zip with no members."""
    return fmt.zip_bytes([])


@fixture("neg/checksums.sha256")
def _neg_checksums(ctx: Context) -> bytes:
    """sha256sum output: long hex strings, nothing secret."""
    lines = [f"{ctx.rng.getrandbits(256):064x}  run{i:03d}/reads.fastq.gz" for i in range(20)]
    return _utf8("\n".join(lines) + "\n")


@fixture("neg/compose.yml")
def _neg_compose(ctx: Context) -> bytes:
    """Passwords interpolated from the environment: nothing hard-coded."""
    return _utf8("services:\n  db:\n    image: postgres:16\n    environment:\n"
                 "      POSTGRES_USER: lims\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n")


@fixture("neg/italian_cui.txt")
def _neg_italian(ctx: Context) -> bytes:
    """Italian 'cui' (whose/which) is a common word, not a CUI banner."""
    return _utf8("Il laboratorio in cui lavoriamo ha ricevuto i campioni, la cui analisi\n"
                 "inizia lunedi. Il motivo per cui ritardiamo e' la manutenzione.\n")


@fixture("neg/db_env.py")
def _neg_env_password(ctx: Context) -> bytes:
    """The password comes from the environment: nothing hard-coded."""
    return _utf8("import os\n\nimport psycopg\n\npassword = os.environ[\"DB_PASSWORD\"]\n\n\n"
                 "def connect():\n    return psycopg.connect(user=\"lims\", password=password)\n")


@fixture("neg/export_compliance.md")
def _neg_export_readme(ctx: Context) -> bytes:
    """A README about export compliance that carries no marking, regulation or ECCN."""
    return _utf8(
        "# Shipping samples abroad\n\n"
        "Before you ship instruments or share research results with partners abroad, read the\n"
        "export compliance page on the intranet and talk to the compliance office. This year\n"
        "the training is online; it takes about an hour. Keep a clear record of what you sent.\n"
    )


@fixture("neg/contact.vcf")
def _neg_vcard(ctx: Context) -> bytes:
    """A vCard: the .vcf extension is shared with VCF, the content is not genomic."""
    return _utf8("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hanako Sato\r\nORG:Example Lab\r\n"
                 "EMAIL:hanako@example.org\r\nEND:VCARD\r\n")


@fixture("neg/empty.txt")
def _neg_empty(ctx: Context) -> bytes:
    """A 0-byte file."""
    return b""
