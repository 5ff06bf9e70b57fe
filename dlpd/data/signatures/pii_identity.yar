/*
 * National identifiers: US Social Security numbers, Japanese Individual Numbers.
 *
 * Like card numbers these are digits only, so the rules carry context keywords only and
 * name a validator whose finder dlpd runs over the buffer once a keyword is present.
 * Bare 9- and 12-digit runs are too common to count on their own: their rules set
 * require_keyword, so a candidate counts only with a keyword within `proximity` bytes.
 */

rule us_ssn
{
    meta:
        category = "us-ssn"
        confidence = "medium"
        validator = "ssn"
        proximity = 300
        description = "US SSN written 123-45-6789 or 123 45 6789, outside the never-issued ranges"
    strings:
        // Spelled out in its usual cases: nocase "sSn" turns up by chance in compressed data.
        $kw_ssn = /\b(ssn|SSN|Ssn)/
        $kw_ssn_column = /_(ssn|SSN)\b/
        $kw_social_security = /social[ _\-]?security/ nocase
        $kw_soc_sec = /\bsoc\.? ?sec\b/ nocase
        $kw_ss_hash = /\bSS ?#[ :]{0,2}[0-9]/
        $kw_ja_social_security = "社会保障番号"
    condition:
        any of them
}

rule us_ssn_unformatted
{
    meta:
        category = "us-ssn"
        confidence = "low"
        validator = "ssn_unformatted"
        // Right after the label ("SSN: 123456789", "\"ssn\": \"...", "ssn,dob\n..."):
        // at 300 bytes, 9-digit record ids next to a labelled SSN counted as SSNs (seen
        // in the benchmark corpus). A wide CSV with the SSN column far from its header
        // is missed by this rule.
        proximity = 16
        require_keyword = true
        description = "US SSN written as 9 bare digits, counted only next to an SSN keyword"
    strings:
        // Spelled out in its usual cases: nocase "sSn" turns up by chance in compressed data.
        $kw_ssn = /\b(ssn|SSN|Ssn)/
        $kw_ssn_column = /_(ssn|SSN)\b/
        $kw_social_security = /social[ _\-]?security/ nocase
        $kw_soc_sec = /\bsoc\.? ?sec\b/ nocase
        $kw_ss_hash = /\bSS ?#[ :]{0,2}[0-9]/
        $kw_ja_social_security = "社会保障番号"
    condition:
        any of them
}

rule jp_my_number
{
    meta:
        category = "jp-my-number"
        confidence = "medium"
        validator = "mynumber"
        proximity = 300
        require_keyword = true
        description = "Japanese Individual Number (12 digits, check digit) next to a My Number keyword"
    strings:
        $kw_kojin_bango = "個人番号"
        $kw_my_number_kana = "マイナンバー"
        // Mixed and upper case only: "call my number" is everyday English.
        $kw_my_number = /\b(My ?Number|MY[ _]?NUMBER|my_?number)\b/
        $kw_individual_number = "individual number" nocase
    condition:
        any of them
}
