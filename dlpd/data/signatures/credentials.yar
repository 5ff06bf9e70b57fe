/*
 * Credentials: cloud and SaaS tokens with a vendor prefix, and hard-coded passwords.
 *
 * Token formats follow the vendors' documented prefixes (as gitleaks and trufflehog
 * detect them). The api_token validator rejects documentation filler (xxxx, EXAMPLE,
 * your_token, alphabet runs) and low-entropy bodies; the aws validator rejects the
 * AWS documentation key AKIAIOSFODNN7EXAMPLE and its kin.
 */

rule credential_aws_access_key
{
    meta:
        category = "credential"
        confidence = "medium"
        validator = "aws"
        proximity = 300
        description = "AWS access key ID; high when a secret access key is named nearby"
    strings:
        $key_id = /\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/
        $kw_secret = /aws_?secret_?access_?key|secret_?access_?key|SecretAccessKey|aws_secret/ nocase
    condition:
        // keywords are optional context, referenced so that YARA reports them
        $key_id and (any of ($kw*) or true)
}

rule credential_github_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "GitHub personal access, OAuth, app or refresh token"
    strings:
        $classic = /\bgh[pousr]_[A-Za-z0-9]{36}\b/
        $fine_grained = /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/
    condition:
        any of them
}

rule credential_gitlab_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "GitLab personal, deploy, runner or pipeline-trigger token"
    strings:
        $token = /\bgl(pat|dt|rt|ptt)-[A-Za-z0-9_\-]{20,120}/
    condition:
        $token
}

rule credential_slack_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "Slack bot, user, workspace or refresh token, or an incoming-webhook URL"
    strings:
        $token = /\bxox[abeoprs]-([0-9]{1,14}-)?[0-9A-Za-z][0-9A-Za-z\-]{9,200}/
        $webhook = /hooks\.slack\.com\/(services|workflows|triggers)\/[A-Za-z0-9+\/]{43,56}/
    condition:
        any of them
}

rule credential_google_api_key
{
    meta:
        category = "credential"
        confidence = "medium"
        validator = "api_token"
        description = "Google API key (often deliberately public in web apps, hence medium)"
    strings:
        $key = /AIza[0-9A-Za-z_\-]{35}/
    condition:
        $key
}

rule credential_stripe_live_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "Stripe live secret or restricted key"
    strings:
        $key = /\b[rs]k_live_[0-9A-Za-z]{20,99}/
    condition:
        $key
}

rule credential_huggingface_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "Hugging Face user access or organization API token"
    strings:
        // hf_ + 34 characters (gitleaks: letters; trufflehog also allows digits).
        $token = /\b(hf|api_org)_[A-Za-z0-9]{34}\b/
    condition:
        $token
}

rule credential_openai_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "OpenAI API key (legacy, project, service account or admin)"
    strings:
        // T3BlbkFJ is base64 of "OpenAI" and sits inside every key format.
        $key = /\bsk-(proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,100}T3BlbkFJ[A-Za-z0-9_\-]{20,100}/
    condition:
        $key
}

rule credential_anthropic_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "Anthropic API or admin key"
    strings:
        $key = /\bsk-ant-(api|admin)[0-9]{2}-[A-Za-z0-9_\-]{80,120}/
    condition:
        $key
}

rule credential_ml_platform_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "ML platform token: Replicate, Databricks, LangSmith, Pinecone"
    strings:
        // Shapes as gitleaks (databricks-api-token) and trufflehog (replicate, langsmith,
        // pinecone) detect them from the vendors' documented prefixes.
        $replicate = /\br8_[0-9A-Za-z_\-]{37}\b/
        $databricks = /\bdapi[0-9a-f]{32}(-[0-9])?\b/
        $langsmith = /\blsv2_(pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}\b/
        $pinecone = /\bpcsk_[0-9A-Za-z]{4,8}_[0-9A-Za-z]{50,80}\b/
    condition:
        any of them
}

rule credential_llm_api_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "LLM API key: Groq, xAI, Perplexity"
    strings:
        // Groq gsk_ + 52, xAI xai- + 80 (trufflehog); Perplexity pplx- + 48 (gitleaks).
        $groq = /\bgsk_[0-9A-Za-z]{52}\b/
        $xai = /\bxai-[0-9A-Za-z_]{80}\b/
        $perplexity = /\bpplx-[0-9A-Za-z]{48}\b/
    condition:
        any of them
}

rule credential_azure_storage_key
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "Azure storage account key in a connection string"
    strings:
        $key = /AccountKey=[A-Za-z0-9+\/]{86}==/
    condition:
        $key
}

rule credential_package_registry_token
{
    meta:
        category = "credential"
        confidence = "high"
        validator = "api_token"
        description = "npm or PyPI upload token"
    strings:
        $npm = /\bnpm_[A-Za-z0-9]{36}\b/
        // "pypi-" + base64 of the macaroon's fixed location "pypi.org"
        $pypi = /pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,300}/
    condition:
        any of them
}

rule credential_password
{
    meta:
        category = "credential"
        confidence = "medium"
        validator = "password"
        description = "Hard-coded password in code, config, a connection URL or XML"
    strings:
        // key [closing quote] operator rest-of-line; the validator reads the value.
        // `_eol160`: YARA matches up to the value's first byte and dlpd reads on to the
        // end of the line (160 bytes of value at most): a long repeat costs YARA per byte.
        // (\b|_) keeps "bypass" and "compass" out and DB_PASS, MYSQL_ROOT_PASSWORD in.
        $assign_eol160 = /(\b|_)pass(word|wd|phrase)?[A-Za-z0-9_.\-]{0,24}["'`]?[ \t]{0,4}(:=|=>|=|:)[^\r\n]/ nocase
        // "pwd" in its usual cases only: nocase three-letter atoms fire on binary data.
        $assign_pwd_eol160 = /(\b|_)(pwd|PWD|Pwd)[A-Za-z0-9_.\-]{0,24}["'`]?[ \t]{0,4}(:=|=>|=|:)[^\r\n]/
        // camelCase and glued keys: dbPassword, userPwd, ROOTPASSWORD.
        $assign_glued_eol160 = /[A-Za-z0-9](Password|Passwd|Passphrase|Pwd|PASSWORD|PASSWD|password|passwd)[A-Za-z0-9_.\-]{0,24}["'`]?[ \t]{0,4}(:=|=>|=|:)[^\r\n]/
        $url = /\b[A-Za-z][A-Za-z0-9+.\-]{1,20}:\/\/[^\s:@\/<>"'`]{1,64}:[^\s:@\/<>"'`]{1,128}@/
        $xml = /<(password|passwd|pwd)>[^<\r\n]{1,128}<\/(password|passwd|pwd)>/ nocase
    condition:
        any of them
}

rule credential_jwt
{
    meta:
        category = "credential"
        confidence = "medium"
        description = "JSON Web Token: a bearer credential while it is valid (header.payload.signature)"
    strings:
        // Header and payload are base64url JSON objects, so both start with "eyJ" ('{"').
        $jwt = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/
    condition:
        $jwt
}
