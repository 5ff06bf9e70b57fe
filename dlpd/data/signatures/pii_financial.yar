/*
 * Financial identifiers: payment cards and IBANs.
 *
 * Card numbers are digits only, and digit-only regexes make YARA warn "may slow down
 * scanning". So credit_card_number carries context keywords only; when one appears in a
 * buffer, dlpd runs the luhn validator's finder over that buffer and keeps the numbers
 * that pass issuer prefix, length and Luhn. A keyword within `proximity` bytes of a
 * number raises the confidence. iban_number works the same way (see its comment).
 * The yara CLI sees these rules fire on the keyword alone.
 */

rule credit_card_number
{
    meta:
        category = "credit-card"
        confidence = "medium"
        validator = "luhn"
        proximity = 300
        description = "Payment card numbers (issuer prefix, length, Luhn) where cards are talked about"
    strings:
        $kw_credit_card = /credit[ _\-]?cards?/ nocase
        // Keywords of three or four letters are spelled out in their usual cases instead
        // of nocase: "sSn", "jCb" turn up by chance in compressed and binary data.
        $kw_card = /\b(card|Card|CARD)s?\b/
        $kw_card_field = /card[ _\-]?(number|num|no\b|holder|#)/ nocase
        $kw_cc_field = /\bcc[ _\-]?(number|num|no)\b/ nocase
        $kw_pan = /\bPAN\b/
        $kw_pan_long = "primary account number" nocase
        $kw_brand = /\b(visa|master ?card|amex|american express|discover card|diners club|union ?pay|maestro)\b/ nocase
        $kw_jcb = /\b(JCB|jcb)\b/
        $kw_cvv = /\b(cvv|CVV|cvc|CVC|Cvv|Cvc)2?\b/
        $kw_verify = /\b(card verification|valid thru|expiry date|exp\.? date)\b/ nocase
        $kw_ja_credit_card = "クレジットカード"
        $kw_ja_card_no = "カード番号"
        $kw_ja_kureka = "クレカ"
        $kw_ja_security_code = "セキュリティコード"
        $kw_ja_member = "カード会員"
    condition:
        any of them
}

rule iban_number
{
    meta:
        category = "iban"
        confidence = "medium"
        validator = "iban"
        proximity = 300
        description = "IBAN with a registered country length and a valid mod-97 checksum"
    strings:
        // Keywords only, like the card rule: a regex opening with the 87 IBAN country
        // codes cost a quarter of the ruleset's scan time (measured). The validator's
        // finder looks for IBANs once one of these words is in the buffer.
        // SWIFT/BIC are left out: "BIC" turns up in FASTQ quality strings.
        $kw_iban = /\b(IBAN|iban|Iban)\b/
        $kw_account = /bank account|account (number|no\b)|Kontonummer|Bankverbindung/ nocase
        $kw_ja_account = "口座"
        $kw_ja_transfer = "振込"
    condition:
        any of them
}
