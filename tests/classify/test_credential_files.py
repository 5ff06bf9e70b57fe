"""Credential dotfiles and ML-platform keys, written as their tools write them.

Each family has real-format positives (parsed back with the format's own reader where the
standard library has one: netrc, configparser, json) and look-alikes that must stay
negative: placeholders, documentation values, /etc/passwd, git SHAs, times and addresses.
Through the real YARA rules and confirm(), then a home directory through the real CLI.
"""

from __future__ import annotations

import base64
import configparser
import json
import netrc
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from dlpd.classify.validators import REGISTRY
from dlpd.model import Confidence
from tests.classify.test_signatures_rules import detect

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def rnd(alphabet: str, length: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


def found(data: str | bytes, category: str = "credential") -> Confidence | None:
    raw = data.encode() if isinstance(data, str) else data
    levels = [d.confidence for d in detect(raw).values() if d.category == category]
    return max(levels) if levels else None


def rules_of(data: str | bytes) -> set[str]:
    return set(detect(data.encode() if isinstance(data, str) else data))


AWS_ID = "AKIA" + rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 1)
AWS_SECRET = rnd(ALNUM + "/+", 40, 2)
WANDB_KEY = rnd(HEX, 40, 3)
KAGGLE_KEY = rnd(HEX, 32, 4)
PASSWORD = "Vq7#tR2m!xK9"
TOKEN = rnd(ALNUM + "-_.", 43, 5)


def pem_key(kind: str = "rsa") -> bytes:
    key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ec"
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))  # fmt: skip
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


CA_PEM = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(random.Random(6).randbytes(600))
          + b"-----END CERTIFICATE-----\n")  # fmt: skip


# -- the files ---------------------------------------------------------------------------------


def netrc_file(host: str, login: str, password: str, *, one_line: bool = False) -> str:
    if one_line:
        return f"machine {host} login {login} password {password}\n"
    # wandb, pip and curl's own writers: machine on its line, the rest indented.
    return f"machine {host}\n  login {login}\n  password {password}\n"


def pgpass_file(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def my_cnf(password: str) -> str:
    return (
        f"[client]\nuser=alice\npassword={password}\nhost=db.lab.internal\n\n[mysql]\n"
        "database=cohort\n"
    )


def docker_config(auths: dict[str, dict[str, str]], **extra: str) -> str:
    # docker writes its config.json with tab indentation.
    return json.dumps({"auths": auths, **extra}, indent="\t")


def docker_auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def rclone_obscure(seed: int) -> str:
    # rclone obscure: base64url (no padding) of a 16-byte IV plus the AES-CTR ciphertext.
    return base64.urlsafe_b64encode(random.Random(seed).randbytes(16 + 12)).decode().rstrip("=")


def rclone_conf(*remotes: tuple[str, dict[str, str]]) -> str:
    out = []
    for name, options in remotes:
        out.append(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()))
    return "\n".join(out)


def aws_credentials(key_id: str, secret: str) -> str:
    return f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"


def s3cfg(key_id: str, secret: str) -> str:
    return (
        f"[default]\naccess_key = {key_id}\nhost_base = s3.amazonaws.com\n"
        f"host_bucket = %(bucket)s.s3.amazonaws.com\nsecret_key = {secret}\nuse_https = True\n"
    )


def kubeconfig(user: str) -> str:
    ca = base64.b64encode(CA_PEM).decode()
    return (
        "apiVersion: v1\nclusters:\n- cluster:\n"
        f"    certificate-authority-data: {ca}\n"
        "    server: https://10.0.0.1:6443\n  name: lab\n"
        "contexts:\n- context:\n    cluster: lab\n    user: alice\n  name: alice@lab\n"
        "current-context: alice@lab\nkind: Config\npreferences: {}\n"
        f"users:\n- name: alice\n  user:\n{user}"
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- parsers accept the fixtures -----------------------------------------------------------------


def test_the_fixtures_are_valid_files(tmp_path: Path) -> None:
    rc = tmp_path / "netrc"
    rc.write_text(netrc_file("api.wandb.ai", "user", WANDB_KEY))
    assert netrc.netrc(str(rc)).authenticators("api.wandb.ai") == ("user", "", WANDB_KEY)
    parser = configparser.ConfigParser()
    parser.read_string(my_cnf(PASSWORD) + aws_credentials(AWS_ID, AWS_SECRET))
    assert parser["client"]["password"] == PASSWORD
    assert json.loads(docker_config({"ghcr.io": docker_auth("alice", PASSWORD)}))["auths"]
    assert base64.b64decode(b64(pem_key())).startswith(b"-----BEGIN RSA PRIVATE KEY-----")


# -- positives ---------------------------------------------------------------------------------

POSITIVES: list[tuple[str, str, str]] = [
    ("netrc wandb", "credential_netrc", netrc_file("api.wandb.ai", "user", WANDB_KEY)),
    ("netrc one line", "credential_netrc",
     netrc_file("files.lab.org", "alice", PASSWORD, one_line=True)),
    ("netrc default", "credential_netrc", f"default login alice password {PASSWORD}\n"),
    ("netrc macdef", "credential_netrc",
     "macdef init\nbin\nprompt\n\n" + netrc_file("ftp.lab.org", "bob", PASSWORD)),
    ("pgpass", "credential_pgpass", pgpass_file(f"localhost:5432:cohort:alice:{PASSWORD}")),
    ("pgpass wildcards", "credential_pgpass",
     pgpass_file("# replication", r"*:*:*:replicator:s3cr\:et-Pw9")),
    ("pgpass pgbouncer", "credential_pgpass",
     pgpass_file(f"db-01.lab.internal:6432:analytics:etl:{PASSWORD}")),
    ("my.cnf", "credential_mysql_option_file", my_cnf("Hxqvtrmwz")),
    ("my.cnf quoted", "credential_mysql_option_file", my_cnf(f'"{PASSWORD}"')),
    ("git-credentials", "credential_git_credentials",
     "https://alice:Vq7%23tR2m%21xK9@git.lab.org\nhttps://bob:Zt8wQ4pLm2@gitlab.lab.org\n"),
    ("docker auths", "credential_docker_config_auth",
     docker_config({"https://index.docker.io/v1/": docker_auth("alice", PASSWORD)})),
    ("docker identitytoken", "credential_docker_config_auth",
     docker_config({"lab.azurecr.io": {"auth": "", "identitytoken": TOKEN}})),
    ("rclone sftp pass", "credential_rclone_config",
     rclone_conf(("nas", {"type": "sftp", "host": "nas.lab.org", "user": "alice",
                          "pass": rclone_obscure(7)}))),
    ("rclone drive token", "credential_rclone_config",
     rclone_conf(("gdrive", {"type": "drive", "scope": "drive", "token": json.dumps(
         {"access_token": "ya29." + rnd(ALNUM, 60, 8), "token_type": "Bearer",
          "refresh_token": "1//0g" + rnd(ALNUM, 40, 9), "expiry": "2024-05-01T10:00:00Z"},
         separators=(",", ":"))}))),
    ("rclone s3", "credential_aws_secret_key",
     rclone_conf(("s3", {"type": "s3", "provider": "AWS", "access_key_id": AWS_ID,
                         "secret_access_key": AWS_SECRET}))),
    ("aws credentials", "credential_aws_secret_key", aws_credentials(AWS_ID, AWS_SECRET)),
    ("s3cfg", "credential_aws_secret_key", s3cfg(AWS_ID, AWS_SECRET)),
    ("aws env", "credential_aws_secret_key", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"),
    ("aws json", "credential_aws_secret_key",
     json.dumps({"AccessKeyId": AWS_ID, "SecretAccessKey": AWS_SECRET})),
    ("kubeconfig token", "credential_kubeconfig_token", kubeconfig(f"    token: {TOKEN}\n")),
    ("kubeconfig oidc", "credential_kubeconfig_token", kubeconfig(
        "    auth-provider:\n      config:\n        client-id: kubernetes\n"
        f"        id-token: eyJhbGciOiJSUzI1NiJ9.{rnd(ALNUM, 80, 10)}.{rnd(ALNUM, 40, 11)}\n"
        f"        refresh-token: {rnd(ALNUM, 32, 12)}\n      name: oidc\n")),
    ("kubeconfig client key", "credential_kubeconfig_client_key", kubeconfig(
        f"    client-certificate-data: {b64(CA_PEM)}\n"
        f"    client-key-data: {b64(pem_key('ec'))}\n")),
    ("kubeadm join", "credential_kube_bootstrap_token",
     "kubeadm join 10.0.0.1:6443 --token 7k2x9q.a8f3h2k9d0s1m4n6 \\\n"
     "    --discovery-token-ca-cert-hash sha256:" + rnd(HEX, 64, 13) + "\n"),
    ("kaggle.json", "credential_kaggle_key",
     json.dumps({"username": "alice", "key": KAGGLE_KEY})),
    ("kaggle env", "credential_kaggle_key", f"KAGGLE_USERNAME=alice\nKAGGLE_KEY={KAGGLE_KEY}\n"),
    ("wandb.login", "credential_wandb_api_key", f'import wandb\nwandb.login(key="{WANDB_KEY}")\n'),
    ("wandb env", "credential_wandb_api_key", f"WANDB_API_KEY={WANDB_KEY}\n"),
    ("wandb os.environ", "credential_wandb_api_key",
     f'os.environ["WANDB_API_KEY"] = "{WANDB_KEY}"\n'),
    ("wandb local", "credential_wandb_api_key",
     f"wandb login --host https://wandb.lab.org local-{WANDB_KEY}\n"),
    ("hf letters", "credential_huggingface_token",
     "HF_TOKEN=hf_" + rnd(string.ascii_letters, 34, 14)),
    ("hf digits", "credential_huggingface_token", "token = 'hf_" + rnd(ALNUM, 34, 15) + "'"),
    ("hf org", "credential_huggingface_token", "api_org_" + rnd(string.ascii_letters, 34, 16)),
    ("openai legacy", "credential_openai_key",
     "OPENAI_API_KEY=sk-" + rnd(ALNUM, 20, 17) + "T3BlbkFJ" + rnd(ALNUM, 20, 18)),
    ("openai svcacct", "credential_openai_key",
     "sk-svcacct-" + rnd(ALNUM + "_-", 74, 19) + "T3BlbkFJ" + rnd(ALNUM + "_-", 74, 20)),
    ("anthropic", "credential_anthropic_key", "sk-ant-api03-" + rnd(ALNUM + "_-", 93, 21) + "AA"),
    ("replicate", "credential_ml_platform_token", "REPLICATE_API_TOKEN=r8_" + rnd(ALNUM, 37, 22)),
    ("databricks", "credential_ml_platform_token", "token = dapi" + rnd(HEX, 32, 23)),
    ("langsmith", "credential_ml_platform_token",
     "LANGSMITH_API_KEY=lsv2_pt_" + rnd(HEX, 32, 24) + "_" + rnd(HEX, 10, 25)),
    ("pinecone", "credential_ml_platform_token",
     "pcsk_" + rnd(ALNUM, 6, 26) + "_" + rnd(ALNUM, 63, 27)),
    ("groq", "credential_llm_api_key", "GROQ_API_KEY=gsk_" + rnd(ALNUM, 52, 28)),
    ("xai", "credential_llm_api_key", "XAI_API_KEY=xai-" + rnd(ALNUM, 80, 29)),
    ("perplexity", "credential_llm_api_key", "pplx-" + rnd(ALNUM, 48, 30)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "text"), [p[1:] for p in POSITIVES], ids=[p[0] for p in POSITIVES]
)
def test_credential_file_positives(rule: str, text: str) -> None:
    detections = detect(text.encode())
    assert rule in detections, sorted(detections)
    assert detections[rule].confidence == Confidence.HIGH
    # Previews never carry the secret.
    for secret in (PASSWORD, WANDB_KEY, KAGGLE_KEY, AWS_SECRET, TOKEN):
        assert all(secret not in p for p in detections[rule].previews)


def test_a_base64_private_key_in_a_kubernetes_secret_is_a_private_key() -> None:
    secret = ("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n"
              f"  tls.crt: {b64(CA_PEM)}\n  tls.key: {b64(pem_key())}\n")  # fmt: skip
    assert found(secret, "private-key") == Confidence.HIGH


# -- look-alikes -------------------------------------------------------------------------------

NEGATIVES: list[tuple[str, str]] = [
    ("aws doc pair", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    ("s3cfg filler", s3cfg("AKIAXXXXXXXXXXXXXXXX", "x" * 40)),
    ("django secret key", "SECRET_KEY = '" + rnd(ALNUM + "!@#$%^&*(-_=+)", 50, 31) + "'\n"),
    ("hex secret key", "secret_key = " + rnd(HEX, 40, 32) + "\n"),
    ("hf filler", "HF_TOKEN=hf_" + "x" * 34),
    ("hf placeholder", "HF_TOKEN=hf_your_token_here"),
    ("openai doc", "export OPENAI_API_KEY=sk-...\nOPENAI_API_KEY=<your-api-key>\n"),
    ("wandb placeholder", "WANDB_API_KEY=YOUR_KEY_HERE\nwandb.login(key='<your-api-key>')\n"),
    ("wandb zeros", 'wandb.login(key="' + "0" * 40 + '")\n'),
    ("wandb sequence", "WANDB_API_KEY=" + "0123456789abcdef" * 2 + "01234567\n"),
    ("git sha", "commit: " + WANDB_KEY + "\nwandb_version: 0.16.0\n"),
    ("git sha json", json.dumps({"wandb": {"commit": WANDB_KEY, "program": "train.py"}})),
    ("kaggle key without user", json.dumps({"name": "cache", "key": KAGGLE_KEY})),
    ("netrc man page", "machine host.domain.com login myname password mypassword\n"),
    ("netrc anonymous", "default login anonymous password user@site\n"),
    ("curl doc", "machine example.com\nlogin daniel\npassword qwerty\n"),
    ("netrc template", "machine api.lab.org login ${USER} password ${API_TOKEN}\n"),
    ("git test netrc", "machine imap login tzz@lifelogs.com port imaps password letmeknow\n"
     "machine imap2 login bob password bobwillknow\n"),
    ("prose", "Then the machine is password protected by the admin.\n"),
    ("passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"),
    ("group", "sudo:x:27:alice\ndocker:x:999:alice,bob\n"),
    ("shadow", "alice:$6$rounds=5000$abc$" + rnd(ALNUM, 40, 33) + ":19000:0:99999:7:::\n"),
    ("pgpass man page", "hostname:port:database:username:password\n*:*:*:*:*\n"),
    ("pgpass placeholder", "localhost:5432:mydb:postgres:<password>\n"),
    ("times", "12:34:56:78:90\n00:00:01:5432:*\n"),
    ("mac", "00:1a:2b:3c:4d:5e\n00:11:22:33:44:55\n"),
    ("ipv6", "2001:db8:85a3:0:0:8a2e:370:7334\nfe80:0:0:0:0:0:0:1\n"),
    ("prose colons", "ratio a:b:c:d:e was 1:2:3:4:5\n"),
    ("my.cnf placeholder", my_cnf("<your-password>")),
    ("my.cnf empty", "[client]\nuser=alice\npassword=\n"),
    ("git-credentials template", "https://alice:${GITHUB_TOKEN}@github.com\n"),
    ("git-credentials doc", "https://<user>:<token>@github.com\nhttps://user:password@host\n"),
    ("docker credsStore", docker_config({"https://index.docker.io/v1/": {}}, credsStore="desktop")),
    ("docker not user:pass", docker_config({"ghcr.io": {"auth": b64(b"\x00\x01" * 8)}})),
    ("docker doc", docker_config({"ghcr.io": docker_auth("username", "password")})),
    ("kubeconfig certs only", kubeconfig(
        f"    client-certificate-data: {b64(CA_PEM)}\n")),
    ("kubeconfig exec plugin", kubeconfig(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: aws\n      args: [eks, get-token, --cluster-name, lab]\n")),
    ("kubeconfig token placeholder", kubeconfig("    token: <redacted>\n")),
    ("token line outside kubeconfig", f"steps:\n  - name: build\n    token: {TOKEN}\n"),
    ("kubeadm doc token", "kubeadm join --token abcdef.0123456789abcdef 10.0.0.1:6443\n"),
    ("rclone placeholder token", rclone_conf(("gd", {"type": "drive", "token": "{}"}))),
    ("base64 certificate", "tls.crt: " + b64(CA_PEM) + "\n"),
]  # fmt: skip

# Each look-alike next to the real thing of its family, found by the same rules.
FAMILY: dict[str, str] = {
    "aws doc pair": "aws credentials",
    "s3cfg filler": "s3cfg",
    "django secret key": "aws env",
    "hex secret key": "s3cfg",
    "hf filler": "hf letters",
    "hf placeholder": "hf letters",
    "openai doc": "openai legacy",
    "wandb placeholder": "wandb env",
    "wandb zeros": "wandb.login",
    "wandb sequence": "wandb env",
    "git sha": "wandb env",
    "git sha json": "wandb env",
    "kaggle key without user": "kaggle.json",
    "netrc man page": "netrc one line",
    "netrc anonymous": "netrc default",
    "curl doc": "netrc wandb",
    "netrc template": "netrc one line",
    "prose": "netrc one line",
    "git test netrc": "netrc one line",
    "passwd": "pgpass",
    "group": "pgpass",
    "shadow": "pgpass",
    "pgpass man page": "pgpass",
    "pgpass placeholder": "pgpass",
    "times": "pgpass wildcards",
    "mac": "pgpass",
    "ipv6": "pgpass",
    "prose colons": "pgpass",
    "my.cnf placeholder": "my.cnf",
    "my.cnf empty": "my.cnf",
    "git-credentials template": "git-credentials",
    "git-credentials doc": "git-credentials",
    "docker credsStore": "docker auths",
    "docker not user:pass": "docker auths",
    "docker doc": "docker auths",
    "kubeconfig certs only": "kubeconfig client key",
    "kubeconfig exec plugin": "kubeconfig token",
    "kubeconfig token placeholder": "kubeconfig token",
    "token line outside kubeconfig": "kubeconfig token",
    "kubeadm doc token": "kubeadm join",
    "rclone placeholder token": "rclone drive token",
    "base64 certificate": "kubeconfig client key",
}


POSITIVE_TEXT = {name: text for name, _, text in POSITIVES}


def _reported(text: str) -> set[str]:
    """Rules that report a credential or key at the default confidence (medium)."""
    detections = detect(text.encode())
    return {r for r, d in detections.items() if d.category in ("credential", "private-key")
            and d.confidence >= Confidence.MEDIUM}  # fmt: skip


@pytest.mark.parametrize(("name", "text"), NEGATIVES, ids=[n[0] for n in NEGATIVES])
def test_credential_file_look_alikes(name: str, text: str) -> None:
    assert _reported(POSITIVE_TEXT[FAMILY[name]]), "the real file of this family is found"
    assert not _reported(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 99), min_size=5, max_size=8))
def test_colon_separated_numbers_are_never_a_pgpass_line(parts: list[int]) -> None:
    line = ":".join(str(p) for p in parts)
    assert REGISTRY["pgpass"].validate(line) is False


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 65535), st.text(ALNUM + "!#%&+-", min_size=8, max_size=30))
def test_pgpass_previews_hide_the_user_and_password(port: int, password: str) -> None:
    line = f"db.lab.org:{port}:cohort:alice:{password}"
    preview = REGISTRY["pgpass"].redact(line)
    assert "alice" not in preview
    assert password not in preview


# -- the CLI over a home directory -------------------------------------------------------------

HOME_FILES: dict[str, tuple[str | bytes, str]] = {
    ".netrc": (netrc_file("api.wandb.ai", "user", WANDB_KEY), "credential"),
    ".pgpass": (pgpass_file(f"localhost:5432:cohort:alice:{PASSWORD}"), "credential"),
    ".my.cnf": (my_cnf(PASSWORD), "credential"),
    ".git-credentials": ("https://alice:Zt8wQ4pLm2x@git.lab.org\n", "credential"),
    ".docker/config.json": (docker_config({"ghcr.io": docker_auth("alice", PASSWORD)}),
                            "credential"),
    ".config/rclone/rclone.conf": (rclone_conf(("nas", {"type": "sftp", "host": "nas",
                                                        "pass": rclone_obscure(35)})),
                                   "credential"),
    ".aws/credentials": (aws_credentials(AWS_ID, AWS_SECRET), "credential"),
    ".s3cfg": (s3cfg(AWS_ID, AWS_SECRET), "credential"),
    ".kube/config": (kubeconfig(f"    client-key-data: {b64(pem_key())}\n"), "credential"),
    ".kaggle/kaggle.json": (json.dumps({"username": "alice", "key": KAGGLE_KEY}), "credential"),
    "train.py": (f'import wandb\nwandb.login(key="{WANDB_KEY}")\n', "credential"),
}  # fmt: skip
HOME_NEGATIVES: dict[str, str] = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    "doc/netrc.txt": "Example:\n  machine host.domain.com login myname password mypassword\n"
                     "  default login anonymous password user@site\n",
    "doc/pgpass.txt": "Each line is hostname:port:database:username:password\n",
    "repo/.git/packed-refs": "".join(f"{rnd(HEX, 40, 40 + i)} refs/tags/v{i}\n"
                                     for i in range(20)),
    ".docker/desktop.json": docker_config({"https://index.docker.io/v1/": {}},
                                          credsStore="desktop"),
}  # fmt: skip


def test_a_home_directory_through_the_cli(
    tmp_path: Path, scan_jsonl: Callable[..., Any], dlpd_config: Callable[..., Path]
) -> None:
    home = tmp_path / "home"
    for name, (content, _) in HOME_FILES.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for name, text in HOME_NEGATIVES.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    scan = scan_jsonl(home, config=dlpd_config(tmp_path / "cfg"), args=("--no-cache",))
    scan.assert_finished_cleanly()
    records = scan.by_path()
    for name, (_, category) in HOME_FILES.items():
        record = records[str(home / name)]
        levels = {d["confidence"] for d in record["detections"] if d["category"] == category}
        assert "high" in levels, (name, record)
    for name in HOME_NEGATIVES:
        record = records[str(home / name)]
        assert not record["detections"], (name, record)
    serialized = scan.stdout
    for secret in (PASSWORD, WANDB_KEY, KAGGLE_KEY, AWS_SECRET):
        assert secret not in serialized
