/*
 * Controlled Unclassified Information (US, 32 CFR 2002 / DoDI 5200.48) markings.
 *
 * Banners are upper case ("CUI", "CUI//SP-PRVCY", "CONTROLLED//FEDCON"); matching them
 * case-sensitively keeps "circuit", "biscuit" and "cuisine" out.
 */

rule cui_banner
{
    meta:
        category = "cui"
        marking = "stamp"
        confidence = "high"
        description = "CUI banner with a category or limited dissemination control, or the spelled-out banner"
    strings:
        $banner = /\bCUI\/\/[A-Z]/
        // Excel page headers keep their alignment code glued on: "&CCUI//SP-PRVCY".
        $banner_header = /&[LCR]CUI\/\/[A-Z]/
        $controlled_banner = /(^|\n)[ \t]*CONTROLLED\/\/[A-Z]/
        $spelled_out = "CONTROLLED UNCLASSIFIED INFORMATION"
    condition:
        any of them
}

rule cui_portion_and_legacy
{
    meta:
        category = "cui"
        marking = "stamp"
        confidence = "medium"
        description = "CUI portion markings at the start of a paragraph, DoD distribution statements B-F, legacy FOUO"
    strings:
        // "(CUI) The test article ...", "(CUI//SP-CTI) ..." open a marked portion.
        $portion = /(^|\n)[ \t]*\(CUI(\/\/[A-Z][A-Z\-\/]{1,40})?\)[ \t]/
        // DoDI 5230.24: B to F limit distribution (A is "approved for public release").
        $distribution = /DISTRIBUTION STATEMENT [B-F][.:]/ nocase
        $fouo = /FOR OFFICIAL USE ONLY|\(U\/\/FOUO\)/
    condition:
        any of them
}

rule cui_designation
{
    meta:
        category = "cui"
        marking = "stamp"
        confidence = "medium"
        proximity = 500
        description = "Bare CUI banner line or a CUI designation indicator block"
    strings:
        $banner_line = /(^|\n)[ \t]*CUI[ \t]*\r?\n/
        $category = /CUI Categor(y|ies)[ \t]*:/
        $kw_controlled_by = /Controlled [Bb]y[ \t]*:/
        $kw_poc = /\bPOC[ \t]*:/
        $kw_dissemination = /(Limited Dissemination Control|Distribution\/Dissemination Control|Decontrol)/
    condition:
        ($banner_line or $category) and (any of ($kw*) or true)
}

rule cui_mention
{
    meta:
        category = "cui"
        marking = "reference"
        confidence = "low"
        description = "The phrase Controlled Unclassified Information in running text"
    strings:
        $phrase = "Controlled Unclassified Information" nocase
    condition:
        $phrase
}
