"""Truth tables and properties of every validator in the registry. Pure: no YARA, no I/O."""

from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpd.classify.validators import (
    REGISTRY,
    api_token,
    aws,
    get_validator,
    iban,
    luhn,
    mynumber,
    password,
    pem,
    ssn,
)
from dlpd.classify.validators.base import generic_redact, mask

DIGITS = st.text(alphabet=string.digits, min_size=1, max_size=30)


def _random_token(prefix: str, length: int, alphabet: str, seed: int = 7) -> str:
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


ALNUM = string.ascii_letters + string.digits


# -- registry ------------------------------------------------------------------------------


def test_registry_keys_are_validator_names() -> None:
    assert set(REGISTRY) >= {
        "luhn", "ssn", "ssn_unformatted", "mynumber", "iban", "password", "pem", "aws",
        "api_token",
    }  # fmt: skip
    for name, validator in REGISTRY.items():
        assert validator.name == name
        assert get_validator(name) is validator


def test_unknown_validator_names_the_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        get_validator("lunh")
    assert "lunh" in str(info.value)
    assert "luhn" in str(info.value)


# -- luhn (payment cards) ------------------------------------------------------------------

CARDS_VALID = [
    "4111111111111111",  # Visa test numbers: peers count them as cards
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4012888888881881",
    "4222222222222",  # Visa 13
    "5555555555554444",  # Mastercard
    "5105105105105100",
    "2223003122003222",  # Mastercard 2-series
    "378282246310005",  # Amex
    "3782 822463 10005",  # Amex printed 4-6-5
    "371449635398431",
    "6011111111111117",  # Discover
    "6011000990139424",
    "3530111333300000",  # JCB
    "3566002020360505",
    "30569309025904",  # Diners 14
    "3056 930902 5904",  # Diners printed 4-6-4
    "38520000023237",
    "6200000000000005",  # UnionPay
]
CARDS_INVALID = [
    "4111111111111112",  # Luhn
    "1234567812345670",  # Luhn-valid, no issuer starts with 1
    "0000000000000000",  # all one digit
    "4444444444444444",
    "4111 1111-1111 1111",  # mixed separators
    "4111 11111111 1111",  # not a printed grouping
    "3782 8224 6310 005",  # Amex in 4-4-4-3
    "411111111111111",  # Visa with 15 digits
    "37828224631000",  # Amex with 14 digits
    "41111111111111111111",  # 20 digits
    "4111 1111 1111 111a",
    "",
]


@pytest.mark.parametrize("number", CARDS_VALID)
def test_luhn_accepts_cards(number: str) -> None:
    assert luhn.validate(number) is True


@pytest.mark.parametrize("number", CARDS_INVALID)
def test_luhn_rejects_non_cards(number: str) -> None:
    assert luhn.validate(number) is False


def test_luhn_redacts_to_first_and_last_four() -> None:
    assert luhn.redact("4194 0000 0000 6288") == "4194 **** **** 6288"
    assert luhn.redact("4111111111111111") == "4111********1111"
    assert luhn.redact("3782-822463-10005") == "3782-******-*0005"


@given(DIGITS)
def test_luhn_check_digit_always_validates(body: str) -> None:
    assert luhn.is_luhn_valid(body + luhn.luhn_check_digit(body))


@given(DIGITS, st.data())
def test_luhn_catches_every_single_digit_change(body: str, data: st.DataObject) -> None:
    number = body + luhn.luhn_check_digit(body)
    position = data.draw(st.integers(0, len(number) - 1))
    new = data.draw(st.sampled_from([d for d in string.digits if d != number[position]]))
    assert not luhn.is_luhn_valid(number[:position] + new + number[position + 1 :])


def test_luhn_finder_does_not_split_longer_digit_runs() -> None:
    text = b"id 41111111111111110 and 4111111111111111, 4111 1111 1111 1111 2024 x"
    found = [m.group() for m in luhn.FINDER.finditer(text)]
    assert found == [b"41111111111111110", b"4111111111111111", b"4111 1111 1111 1111"]


# -- ssn -------------------------------------------------------------------------------------

SSN_VALID = ["536-22-1234", "536 22 1234", "536221234", "001-01-0001", "899-99-9999"]
SSN_INVALID = [
    "000-12-3456",  # area 000
    "666-12-3456",  # area 666
    "900-12-3456",  # 9xx: ITINs, never SSNs
    "999-99-9999",
    "536-00-1234",  # group 00
    "536-22-0000",  # serial 0000
    "078-05-1120",  # the Woolworth wallet card
    "219-09-9999",  # SSA advertisement
    "123-45-6789",
    "111-22-3333",
    "111-11-1111",
    "536-22 1234",  # mixed separators
    "53-622-1234",
    "5362212345",
    "536.22.1234",
]


@pytest.mark.parametrize("value", SSN_VALID)
def test_ssn_accepts_issued_ranges(value: str) -> None:
    assert ssn.validate(value) is True


@pytest.mark.parametrize("value", SSN_INVALID)
def test_ssn_rejects_never_issued_and_sample_numbers(value: str) -> None:
    assert ssn.validate(value) is False


def test_ssn_redacts_all_but_the_last_four() -> None:
    assert ssn.redact("078-05-1120") == "***-**-1120"
    assert ssn.redact("536221234") == "*****1234"


def test_ssn_finders() -> None:
    text = b"a 536-22-1234 b 1536-22-1234 c 536-22-12345 d 12 536 22 1234 e 536221234 f 5362212345"
    formatted = [m.group() for m in ssn.FORMATTED_FINDER.finditer(text)]
    assert formatted == [b"536-22-1234"]
    bare = [m.group() for m in ssn.UNFORMATTED_FINDER.finditer(text)]
    assert bare == [b"536221234"]


# -- mynumber ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["123456789018", "1234 5678 9018", "1234-5678-9018"])
def test_mynumber_accepts_valid_check_digit(value: str) -> None:
    assert mynumber.validate(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "123456789012",
        "000000000000",
        "1234 5678-9018",
        "12345678901",
        "1234567890180",
        "12345 678 9018",
    ],
)
def test_mynumber_rejects(value: str) -> None:
    assert mynumber.validate(value) is False


def test_mynumber_redacts_all_but_the_last_four() -> None:
    assert mynumber.redact("1234 5678 9018") == "**** **** 9018"


BODIES = st.text(alphabet=string.digits, min_size=11, max_size=11).filter(lambda b: b != "0" * 11)


@given(BODIES)
def test_mynumber_computed_check_digit_validates(body: str) -> None:
    assert mynumber.validate(body + mynumber.check_digit(body))


@given(BODIES, st.data())
def test_mynumber_single_digit_changes(body: str, data: st.DataObject) -> None:
    number = body + mynumber.check_digit(body)
    position = data.draw(st.integers(0, 11))
    new = data.draw(st.sampled_from([d for d in string.digits if d != number[position]]))
    changed = number[:position] + new + number[position + 1 :]
    if position == 11 or changed == "0" * 12:
        assert not mynumber.validate(changed)
    else:
        # Remainders 0 and 1 share check digit 0: a change between them goes unseen.
        expected = mynumber.check_digit(changed[:11]) == changed[11]
        assert mynumber.validate(changed) is expected


@given(BODIES)
def test_mynumber_change_caught_unless_both_remainders_give_zero(body: str) -> None:
    number = body + mynumber.check_digit(body)
    changed = ("1" if number[0] != "1" else "2") + number[1:]
    if number[11] != "0":
        assert not mynumber.validate(changed)


# -- iban -----------------------------------------------------------------------------------

IBAN_VALID = [
    "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "GB82 WEST 1234 5698 7654 32",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "BE68 5390 0754 7034 2024",  # the next group of the line came along
    "NO9386011117947",
    "CH9300762011623852957",
]
IBAN_INVALID = [
    "DE89370400440532013001",  # checksum
    "DE8937040044053201300",  # length
    "DE893704004405320130000",
    "XX89370400440532013000",  # no such country
    "GB82WEST1234569876543",
    "DE00370400440532013000",
    "de89370400440532013000",
    "DE89 3704 0044 0532 0130 0",
]


@pytest.mark.parametrize("value", IBAN_VALID)
def test_iban_accepts(value: str) -> None:
    assert iban.validate(value) is True


@pytest.mark.parametrize("value", IBAN_INVALID)
def test_iban_rejects(value: str) -> None:
    assert iban.validate(value) is False


def test_iban_redacts_to_first_and_last_four() -> None:
    assert iban.redact("DE89 3704 0044 0532 0130 00") == "DE89 **** **** **** **30 00"


COUNTRY_BBANS = st.sampled_from(sorted(iban.IBAN_LENGTHS)).flatmap(
    lambda cc: st.tuples(
        st.just(cc),
        st.text(
            alphabet=string.digits + string.ascii_uppercase,
            min_size=iban.IBAN_LENGTHS[cc] - 4,
            max_size=iban.IBAN_LENGTHS[cc] - 4,
        ),
    )
)


@given(COUNTRY_BBANS)
def test_iban_computed_check_digits_satisfy_mod97(country_bban: tuple[str, str]) -> None:
    country, bban = country_bban
    value = country + iban.check_digits(country, bban) + bban
    assert iban.mod97(value) == 1
    assert iban.validate(value)


@given(COUNTRY_BBANS, st.data())
def test_iban_catches_same_kind_substitutions(
    country_bban: tuple[str, str], data: st.DataObject
) -> None:
    # Digit for digit or letter for letter changes the numeric form by d * 10^k with
    # 0 < |d| < 97, which mod 97 always sees. A digit swapped for a letter lengthens the
    # numeric form and can slip through (hypothesis found one): ISO 7064 promises no more.
    country, bban = country_bban
    value = country + iban.check_digits(country, bban) + bban
    position = data.draw(st.integers(4, len(value) - 1))
    kind = string.digits if value[position].isdigit() else string.ascii_uppercase
    new = data.draw(st.sampled_from([c for c in kind if c != value[position]]))
    assert not iban.validate(value[:position] + new + value[position + 1 :])


def test_iban_finder_finds_spaced_and_compact() -> None:
    text = b"IBAN: DE89 3704 0044 0532 0130 00, alt GB82WEST12345698765432. xDE89370400440532013000"
    found = [m.group() for m in iban.FINDER.finditer(text)]
    assert found == [b"DE89 3704 0044 0532 0130 00", b"GB82WEST12345698765432"]


# -- password -------------------------------------------------------------------------------

PASSWORDS_HARDCODED = [
    'password = "S3cr3t!x"',
    "password = 'hunter22'",
    "DB_PASSWORD=Tr0ub4dor&3",
    "_PASSWORD=Tr0ub4dor3",  # as the rule hands it over after MYSQL_ROOT
    "GPASSWORD=Zq9xW2vL",  # PGPASSWORD, as the glued string hands it over
    "password: Zq9xW2vL",
    "password: 'correct horse'",
    '"password": "Zq9xW2vL", "user": "alice"}',
    "passwd = s3cr3t99  # prod",
    'rPassword = "Zq9xW2vL";',  # camelCase, as the glued string hands it over
    "password=Zq9xW2vL;Encrypt=yes",
    'password := "Zq9xW2vL"',
    "'password' => 'Zq9xW2vL',",
    "PWD=Zq9xW2vL;",
    "_PASS=Zq9xW2vL",
    "postgres://app:Zq9xW2vL@",
    "mysql+pymysql://root:Zq9xW2vL@",
    "<password>Zq9xW2vL</password>",
    "password = b'Zq9xW2vL'",
    "password = 123456",
]
PASSWORDS_NOT = [
    'password = os.environ["DB_PASSWORD"]',
    "password = os.getenv('DB_PASSWORD')",
    "password = get_password()",
    "password = self.password",
    "password = config.db.password",
    "PASSWORD=${PASSWORD}",
    "password: ${DB_PASS}",
    'password: "{{ vault_db_password }}"',
    "password = {{ password }}",
    "password = '%(pw)s'",
    "password = $DB_PASS",
    "password = <password>",
    'password = ""',
    "password = None",
    "password: null",
    'password = "changeme"',
    '"Password": "user-password"',  # botocore docs: a name for the secret
    "password = admin_secret",
    'password = "password"',
    'password = "xxxxxxxx"',
    'password = "********"',
    'password = "your_password_here"',
    'password = "<your password>"',
    'password_hash = "9f86d081884c7d659a2feaa0c55ad015"',
    "password_min_length = 12",
    "passwordHash: Zq9xW2vL",
    "password_file = /run/secrets/db",
    "passport = X1234567",
    "pass_rate = 0.95",
    "password: str",
    "password: Optional[str] = None",
    "password=password,",
    "password=db_password)",
    "Password: must be at least 8 characters",
    "password: see the vault entry for prod",
    "password == 'x1y2z3w4'",
    "PWD=/home/alice/project",
    "pwd: 3.0-",
    'password = f"{prefix}{suffix}"',
    "password = 'Password used to generate key'",
    '_PASSWORD: "challengePassword",',
    "postgres://user:password@",
    "postgresql://scott:tiger@",
    "https://user:${TOKEN}@",
    "<password>${env.DB_PASSWORD}</password>",
    "password: |",
    "password:",
    "PWd=V\ufffdlJ\x01",
    "password = 'abc'",
]


@pytest.mark.parametrize("value", PASSWORDS_HARDCODED)
def test_password_accepts_hardcoded(value: str) -> None:
    assert password.validate(value) is True


@pytest.mark.parametrize("value", PASSWORDS_NOT)
def test_password_rejects_references_and_placeholders(value: str) -> None:
    assert password.validate(value) is False


@pytest.mark.parametrize(
    ("value", "preview"),
    [
        ('password = "S3cr3t!x"', "password=********"),
        ("postgres://app:Zq9xW2vL@", "postgres://ap***:********@"),
        ("<password>Zq9xW2vL</password>", "<password>********</password>"),
    ],
)
def test_password_redaction_hides_the_value(value: str, preview: str) -> None:
    assert password.redact(value) == preview


# -- pem --------------------------------------------------------------------------------------

BODY = "MIIEowIBAAKCAQEAvR3k0Qm9Zx8yH2pLq7c1WnB4sDfGhJkLmNoPqRsTuVwXyZaBcDeF"
PEM_VALID = [
    f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}",
    f"-----BEGIN PRIVATE KEY-----\r\n{BODY}",
    f"-----BEGIN OPENSSH PRIVATE KEY-----\n{BODY}",
    f"-----BEGIN PRIVATE KEY-----\\n{BODY}",  # inside a JSON string
    f"-----BEGIN EC PRIVATE KEY----- {BODY}",  # PDF text lost the line break
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
    f"DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n{BODY}",
    f"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{BODY}",
]
PEM_INVALID = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA...",
    "-----BEGIN PRIVATE KEY-----\n" + "A" * 64,
    "-----BEGIN PRIVATE KEY-----\n<your key here>",
    f"-----BEGIN CERTIFICATE-----\n{BODY}",
    f"-----BEGIN PUBLIC KEY-----\n{BODY}",
]


@pytest.mark.parametrize("value", PEM_VALID)
def test_pem_accepts_key_bodies(value: str) -> None:
    assert pem.validate(value) is True


@pytest.mark.parametrize("value", PEM_INVALID)
def test_pem_rejects_headers_without_a_key(value: str) -> None:
    assert pem.validate(value) is False


def test_pem_redaction_keeps_only_the_header() -> None:
    assert pem.redact(PEM_VALID[0]) == "-----BEGIN RSA PRIVATE KEY----- ****"


# -- aws and vendor tokens -------------------------------------------------------------------

AWS_ID = _random_token("AKIA", 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


@pytest.mark.parametrize("value", [AWS_ID, "ASIA" + AWS_ID[4:]])
def test_aws_accepts_key_ids(value: str) -> None:
    assert aws.validate(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAXXXXXXXXXXXXXXXX",
        "AKIA0000000000000000",
        "AKIAIOSFODNN7",
        "akia" + AWS_ID[4:],
    ],
)
def test_aws_rejects_documentation_keys(value: str) -> None:
    assert aws.validate(value) is False


def test_aws_redaction() -> None:
    assert aws.redact(AWS_ID) == "AKIA" + "*" * 14 + AWS_ID[-2:]


TOKENS_VALID = [
    _random_token("ghp_", 36, ALNUM),
    _random_token("github_pat_", 82, ALNUM + "_"),
    _random_token("glpat-", 20, ALNUM),
    _random_token("xoxb-2048-", 30, ALNUM, seed=3),
    _random_token("AIza", 35, ALNUM + "_-"),
    _random_token("sk_live_", 24, ALNUM),
    _random_token("hf_", 34, string.ascii_letters),
    _random_token("sk-proj-", 30, ALNUM) + "T3BlbkFJ" + _random_token("", 30, ALNUM, seed=9),
    _random_token("AccountKey=", 86, ALNUM + "+/") + "==",
]
TOKENS_INVALID = [
    "ghp_" + "x" * 36,
    "ghp_" + "X" * 36,
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "hf_" + "your_token_here".ljust(34, "x"),
    "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AIzaSyDEXAMPLEEXAMPLEEXAMPLEEXAMPLE00",
    "sk_live_" + "0" * 24,
    "glpat-" + "*" * 20,
]


@pytest.mark.parametrize("value", TOKENS_VALID)
def test_api_token_accepts_random_tokens(value: str) -> None:
    assert api_token.validate(value) is True


@pytest.mark.parametrize("value", TOKENS_INVALID)
def test_api_token_rejects_filler(value: str) -> None:
    assert api_token.validate(value) is False


def test_api_token_redaction_keeps_the_vendor_prefix_only() -> None:
    token = TOKENS_VALID[0]
    assert api_token.redact(token) == "ghp_" + "*" * 8 + token[-2:]


# -- redaction ------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_generic_redaction_shows_at_most_four_characters(value: str) -> None:
    preview = generic_redact(value)
    clear = [ch for ch in preview if ch not in "* "]
    assert len(clear) <= 4


@given(st.text(alphabet=string.digits + " -", max_size=40))
def test_mask_keeps_separators_and_length(value: str) -> None:
    masked = mask(value, head=4, tail=4)
    assert len(masked) == len(value)
    assert [c for c in masked if c in " -"] == [c for c in value if c in " -"]
    assert sum(c.isdigit() for c in masked) <= 8


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("value", ["4111 1111 1111 1111", "536-22-1234", "Zq9xW2vL", "x"])
def test_every_redactor_hides_most_of_a_value(name: str, value: str) -> None:
    preview = REGISTRY[name].redact(value)
    assert preview != value or len(value) <= 1


@pytest.mark.parametrize(
    ("finder", "text", "found"),
    [
        (luhn.FINDER, b"commit e051e396156211449568afa0ca7505dc13eaa3b4", []),
        (luhn.FINDER, b"uuid 4111111111111111abc", []),
        (luhn.FINDER, b"card:4111111111111111,", [b"4111111111111111"]),
        (luhn.FINDER, "カード番号4111111111111111です".encode(), [b"4111111111111111"]),
        (ssn.FORMATTED_FINDER, b"build a078-05-1120", []),
        (ssn.FORMATTED_FINDER, b"SSN (078-05-1120)", [b"078-05-1120"]),
        (mynumber.FINDER, b"sha 0f123456789018ab", []),
        (mynumber.FINDER, "個人番号 1234 5678 9018".encode(), [b"1234 5678 9018"]),
    ],
)
def test_finders_skip_digits_inside_identifiers(
    finder: re.Pattern[bytes], text: bytes, found: list[bytes]
) -> None:
    """Digits glued to letters are hashes, UUIDs or base64, not identifiers."""
    assert [m.group() for m in finder.finditer(text)] == found


@pytest.mark.parametrize(
    ("text", "confirmed"),
    [
        ("PASS: gas/i386/x86-64-avx512 (test 17)", False),
        ("* passphrase.c: New file with 3 functions", False),
        ("gpasswd.8.xml: Fix typo in translation", False),
        ("spring.datasource.password=Zq7!pLm2vX", True),
        ("DB_PASS=Zq7!pLm2vX", True),
    ],
)
def test_password_keys_from_changelogs_and_test_logs(text: str, confirmed: bool) -> None:
    """Seen scanning /usr/share/doc: test results and file names are not passwords."""
    assert password.validate(text) is confirmed


@pytest.mark.parametrize(
    "text",
    ["個人番号 カード 4111 1111 1111 1111", "マイナンバー IBAN DE89 3704 0044 0532 0130 00",
     "個人番号 1234-5678-9018-7"],
)
def test_my_number_is_not_cut_out_of_longer_digit_groups(text: str) -> None:
    assert list(mynumber.FINDER.finditer(text.encode())) == []
