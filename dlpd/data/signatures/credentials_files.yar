/*
 * Credential files: the dotfiles and configs where tools store a login.
 *
 * Each rule matches the format as its tool writes it (.netrc, .pgpass, .my.cnf,
 * .git-credentials, ~/.docker/config.json, rclone.conf, .aws/credentials, .s3cfg,
 * kubeconfig, kaggle.json) and hands the entry to a validator that reads the secret and
 * rejects placeholders and documentation values. A real format with a real-looking secret
 * is high confidence. Rules whose candidates are common shapes (a "password =" line, a
 * "token:" line) require the format's own marker nearby (a [client] section, a
 * kubeconfig's "kind: Config").
 *
 * A string named `$..._eolN` ends at the first byte of its value: dlpd reads on to the
 * end of the line (N bytes of value at most), which costs YARA nothing per byte.
 */

rule credential_netrc
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "netrc"
        description = ".netrc entry: machine, login and password (curl, ftp, git, pip, wandb)"
    strings:
        // One entry, on one line or several; "login" (and "account", "port") before the
        // password as netrc writers put them.
        $entry = /(\bmachine[ \t\r\n]+[^ \t\r\n]{1,253}|\bdefault)([ \t\r\n]+(login|account|port)[ \t\r\n]+[^ \t\r\n]{1,128}){0,3}[ \t\r\n]+password[ \t\r\n]+[^ \t\r\n]{1,256}/
    condition:
        $entry
}

rule credential_pgpass
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "pgpass"
        require_keyword = true
        proximity = 300
        description = "PostgreSQL password file line (host:port:database:user:password)"
    strings:
        // The port field; the pgpass finder reads the whole line around it. A bare
        // ":<digits>:" would be a slow atom, so the usual ports and the wildcard only.
        $kw_port = /:(543[0-9]|6432|1543[0-9]|2543[0-9]):/
        $kw_wildcard = ":*:"
    condition:
        any of them
}

rule credential_mysql_option_file
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "config_secret"
        require_keyword = true
        proximity = 1000
        description = "MySQL/MariaDB option file (.my.cnf) password in a client section"
    strings:
        $kw_section = /\[(client|mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysql_upgrade|client-server|client-mariadb|mariadb-client|mariadb)\]/
        $password_eol128 = /\n[ \t]*password[ \t]*=[ \t]*[^\r\n]/
    condition:
        $kw_section and $password_eol128
}

rule credential_git_credentials
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "url_credential"
        description = "git credential-store line (https://user:token@host), as .git-credentials holds them"
    strings:
        // A whole line that is nothing but the URL: the store's format, not a URL in prose.
        $first = /^https?:\/\/[^\s:@\/]{1,128}:[^\s:@\/]{1,256}@[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?\/?\r?\n/
        $line = /\nhttps?:\/\/[^\s:@\/]{1,128}:[^\s:@\/]{1,256}@[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?\/?(\r?\n|$)/
    condition:
        any of them
}

rule credential_docker_config_auth
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "docker_auth"
        require_keyword = true
        proximity = 65536
        description = "Container registry login in a docker/podman config.json (auths: base64 user:password)"
    strings:
        $kw_auths = "\"auths\""
        $auth = /"auth"[ \t]*:[ \t]*"[A-Za-z0-9+\/]{4,4096}={0,2}"/
        $identity = /"identitytoken"[ \t]*:[ \t]*"[^"\r\n]{16,4096}"/
    condition:
        $kw_auths and ($auth or $identity)
}

rule credential_rclone_config
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "config_secret"
        require_keyword = true
        proximity = 4096
        description = "rclone.conf remote secret (obscured pass, S3 secret, OAuth token JSON, account key)"
    strings:
        // rclone writes each remote as "[name]" then "type = backend" first.
        $kw_remote = /\]\r?\ntype = [a-z0-9]{2,24}\r?\n/
        $secret_eol4096 = /\n(pass|password|password2|secret_access_key|client_secret|token|key|account_key|sas_url|api_key|app_key|access_token|refresh_token|session_token|bearer_token) = [^\r\n]/
    condition:
        $kw_remote and $secret_eol4096
}

rule credential_aws_secret_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "aws_secret"
        description = "AWS secret access key (.aws/credentials, .s3cfg, rclone, environment, JSON)"
    strings:
        // {40,41}: a 41st character means a longer value, which the validator rejects.
        $assign = /(aws_secret_access_key|secret_access_key|aws_secret_key|secret_key|SecretAccessKey)["']?[ \t]*(=|:|=>)[ \t]*["']?[A-Za-z0-9\/+]{40,41}/ nocase
    condition:
        $assign
}

rule credential_kubeconfig_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "config_secret"
        require_keyword = true
        proximity = 65536
        description = "kubeconfig user credential: bearer token, auth-provider id/refresh token, basic-auth password"
    strings:
        $kw_kind = /kind:[ \t]*["']?Config\b/
        $kw_context = "current-context:"
        $user_eol8192 = /\n[ \t]+(token|id-token|refresh-token|access-token|client-secret|password):[ \t]*[^\r\n]/
    condition:
        any of ($kw*) and $user_eol8192
}

rule credential_kubeconfig_client_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "base64_pem"
        description = "kubeconfig client-key-data: the user's base64 private key"
    strings:
        $key = /client-key-data:[ \t]*["']?LS0tLS1CRUdJTi[A-Za-z0-9+\/]{100,500}/
    condition:
        $key
}

rule credential_kube_bootstrap_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "config_secret"
        description = "Kubernetes bootstrap token (kubeadm join --token, bootstrapTokens)"
    strings:
        $token = /(--token[ =]|token:[ \t]*["']?)[a-z0-9]{6}\.[a-z0-9]{16}\b/
    condition:
        $token
}

rule credential_wandb_api_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "hex_key"
        description = "Weights & Biases API key in wandb.login, WANDB_API_KEY, wandb login or netrc for api.wandb.ai"
    strings:
        // 40 hex alone is a git SHA: only W&B's own syntax around it counts.
        $login = /wandb\.login\([^)\r\n]{0,100}key[ \t]*=[ \t]*["'](local-)?[0-9a-f]{40}["']/
        $env = /WANDB_API_KEY["'\]]{0,3}[ \t]*(=|:|,)[ \t]*["']?(local-)?[0-9a-f]{40}\b/
        $cli = /wandb login( --[a-z\-]{2,20}( [^ \r\n\-][^ \r\n]{0,200})?){0,3} (local-)?[0-9a-f]{40}\b/
        $netrc = /machine[ \t\r\n]+api\.wandb\.ai[ \t\r\n]+login[ \t\r\n]+[^ \t\r\n]{1,64}[ \t\r\n]+password[ \t\r\n]+(local-)?[0-9a-f]{40}\b/
    condition:
        any of them
}

rule credential_kaggle_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "hex_key"
        require_keyword = true
        proximity = 300
        description = "Kaggle API key (kaggle.json or KAGGLE_KEY)"
    strings:
        $kw_user = "\"username\""
        $kw_env = "KAGGLE_KEY"
        $json = /"key"[ \t]*:[ \t]*"[0-9a-f]{32}"/
        $env = /KAGGLE_KEY["'\]]{0,3}[ \t]*(=|:|,)[ \t]*["']?[0-9a-f]{32}\b/
    condition:
        ($json and $kw_user) or ($env and $kw_env)
}

rule private_key_base64_pem
{
    meta:
        category = "private-key"
        confidence = "high"
        validator = "base64_pem"
        description = "Base64-encoded PEM private key (Kubernetes Secret tls.key, kubeconfig, Helm values)"
    strings:
        // LS0tLS1CRUdJTi = base64("-----BEGIN"); the validator decodes and wants PRIVATE KEY.
        $key = /LS0tLS1CRUdJTi[A-Za-z0-9+\/]{100,500}/
    condition:
        $key
}
