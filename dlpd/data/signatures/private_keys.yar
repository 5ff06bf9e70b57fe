/*
 * Private keys: PEM and OpenPGP armor, PuTTY key files.
 *
 * The pem validator wants a base64 body right after the BEGIN line (after optional
 * Proc-Type/DEK-Info or Version/Comment headers), so a page that only quotes the BEGIN
 * line is rejected. Bodies may have real line breaks, literal "\n" escapes (a key in a
 * JSON service-account file) or spaces (text extracted from a PDF). Certificates and
 * public keys never say PRIVATE and do not match.
 */

rule private_key_block
{
    meta:
        category = "private-key"
        confidence = "high"
        validator = "pem"
        description = "PEM or OpenPGP private key block (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted)"
    strings:
        $block = /-----BEGIN [A-Z0-9 _\-]{0,40}PRIVATE KEY( BLOCK)?-----([ \t\r\n]|\\r|\\n){1,8}(((Proc-Type|DEK-Info|Comment|Version|Hash|Charset|MessageID):[^\r\n\\]{0,100}(\\n|\r?\n)){1,4}([ \t\r\n]|\\r|\\n){0,4})?[A-Za-z0-9+\/=]{0,64}/
    condition:
        $block
}

rule private_key_putty
{
    meta:
        category = "private-key"
        confidence = "high"
        description = "PuTTY private key file (.ppk), versions 1 to 3"
    strings:
        $header = /PuTTY-User-Key-File-[1-3]: [A-Za-z0-9@.\-]{3,60}\r?\nEncryption: /
    condition:
        $header
}

rule private_key_pkcs12
{
    meta:
        category = "private-key"
        confidence = "high"
        description = "PKCS#12 / PFX key store (.p12, .pfx) holding a key bag"
    strings:
        // OIDs 1.2.840.113549.1.12.10.1.1 (keyBag) and .2 (pkcs8ShroudedKeyBag), DER. The
        // bag type stays readable in password-protected stores (only the key is
        // encrypted); a truststore of certificates alone has no key bag and no match.
        $key_bag = { 06 0B 2A 86 48 86 F7 0D 01 0C 0A 01 (01 | 02) }
    condition:
        uint8(0) == 0x30 and uint8(1) >= 0x80 and uint8(1) <= 0x84 and $key_bag
}
