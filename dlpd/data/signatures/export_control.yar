/*
 * Export control: US ITAR/EAR notices and references, Japanese 外為法 (FEFTA) markers.
 *
 * export_control_marking holds the wording that only appears on controlled material
 * itself (distribution warnings, "EXPORT CONTROLLED", 該非判定書); the other rules hold
 * references that also appear in policies and training slides, hence medium.
 * ITAR and EAR are matched upper case and word-bounded: "guitar", "year", "earth" never fire.
 */

rule export_control_marking
{
    meta:
        category = "export-control"
        marking = "stamp"
        confidence = "high"
        description = "Export-control marking or distribution warning on a document"
    strings:
        $export_controlled = "EXPORT CONTROLLED"
        $dod_warning = /whose export is restricted by the (Arms Export Control Act|Export Administration Act)/ nocase
        $itar_controlled = /\bITAR[ \-](controlled|Controlled|CONTROLLED|restricted|Restricted|RESTRICTED)/
        $ear_controlled = /\bEAR[ \-](controlled|Controlled|CONTROLLED)/
        $export_restricted = /\b(is|are) export[ \-]restricted\b/
        // Title and lower case: a header "Export Controlled Information", a statement
        // "contains export-controlled technical data". Placement tells them from a
        // seminar on "export-controlled items" (low).
        $export_controlled_words = /\b[Ee]xport[ \-][Cc]ontrolled\b/
        $subject_to_acronym = /subject to (the )?(ITAR|EAR)\b/
        $subject_to_regulation = /subject to (the )?(International Traffic in Arms Regulations|Export Administration Regulations)/ nocase
        // The destination control statement (15 CFR 758.6) on invoices of controlled items.
        $dcs = /Diversion contrary to U\.S\. law (is )?prohibited/ nocase
        $dcs_controlled = /controlled by the U\.S\. Government and authorized for export only/ nocase
        $ja_gaihi_hanteisho = "該非判定書"
        $ja_list_gaitou = /リスト規制(に|の)?該当/
    condition:
        any of them
}

rule export_control_itar
{
    meta:
        category = "export-control"
        marking = "reference"
        confidence = "medium"
        description = "ITAR reference: the regulation's name, 22 CFR 120-130, the USML"
    strings:
        $itar_name = "International Traffic in Arms Regulations" nocase
        // "CFR" spelled as literals: optional dots between the letters left YARA with
        // the two digits as atom, which every CSV is full of (measured: +10% scan time).
        $cfr22 = /\b22 (CFR|C\.F\.R\.?)( [Pp]arts?| §| §§| [Ss]ec(tion|\.)?)? ?1(2[0-9]|30)\b/
        $usml = "United States Munitions List" nocase
        $usml_acronym = /\bUSML\b/
        $aeca = "Arms Export Control Act" nocase
    condition:
        any of them
}

rule export_control_itar_acronym
{
    meta:
        category = "export-control"
        marking = "reference"
        confidence = "low"
        proximity = 200
        description = "The acronym ITAR: medium only with export-control words near it (IANA's ITAR is a DNSSEC trust-anchor repository)"
    strings:
        $itar = /\bITAR\b/
        $kw_export = /\b(export|Export|EXPORT)/
        $kw_controlled = /\b(controlled|Controlled|CONTROLLED)\b/
        $kw_regulation = /\b(regulat|Regulat|REGULAT)/
        $kw_defense = /\b(defen[cs]e|Defen[cs]e|DEFEN[CS]E)\b/
        $kw_technical_data = "technical data" nocase
        $kw_usml = /\bUSML\b/
        $kw_ddtc = /\bDDTC\b/
        $kw_compliance = /\b(complian|Complian|COMPLIAN)/
        $kw_restricted = /\b(restricted|Restricted|RESTRICTED)\b/
        $kw_arms = /\b(arms|Arms|ARMS)\b/
    condition:
        // The keywords only weigh on confidence; YARA wants every string referenced.
        $itar and (any of ($kw*) or true)
}

rule export_control_ear
{
    meta:
        category = "export-control"
        marking = "reference"
        confidence = "medium"
        description = "EAR reference: the regulation's name, EAR99, 15 CFR 730-774, an ECCN"
    strings:
        $ear_name = "Export Administration Regulations" nocase
        $ear99 = /\bEAR ?99\b/
        $cfr15 = /\b15 (CFR|C\.F\.R\.?)( [Pp]arts?| §| §§| [Ss]ec(tion|\.)?)? ?7([3-6][0-9]|7[0-4])\b/
        $eccn = /ECCN[:#\s]{0,5}[0-9][A-E][0-9]{3}/
        $eccn_name = "Export Control Classification Number" nocase
        $ccl = "Commerce Control List" nocase
        $eaa = "Export Administration Act" nocase
    condition:
        any of them
}

rule export_control_jp
{
    meta:
        category = "export-control"
        marking = "reference"
        confidence = "medium"
        description = "Japanese security export control (外為法) terms"
    strings:
        $gaitame_ho = "外為法"
        $gaitame_full = "外国為替及び外国貿易法"
        $gaihi_hantei = "該非判定"
        $list_kisei = "リスト規制"
        $catch_all = "キャッチオール規制"
        $yushutsu_rei = "輸出貿易管理令"
        $betsuhyo = /(輸出令|外為令)別表第?(1|１|一)/
        $ekimu = "役務取引許可"
        $minashi = "みなし輸出"
        $anzen_hosho = /安全保障(貿易|輸出)管理/
        $yushutsu_kyoka = "輸出許可"
    condition:
        any of them
}

rule export_control_cui_category
{
    meta:
        category = "export-control"
        marking = "stamp"
        confidence = "high"
        description = "CUI banner of an export-control category: SP-EXPT (Export Controlled) or EXPTR (Export Controlled Research)"
    strings:
        // CUI//SP-EXPT, CUI//SP-CTI/SP-EXPT//NOFORN, CUI//EXPTR; "&C" is an Excel header's.
        $banner = /CUI\/\/([A-Z][A-Z\-]{1,20}\/){0,4}(SP-)?EXPTR?\b/
        $portion = /\(CUI\/\/([A-Z][A-Z\-]{1,20}\/){0,4}(SP-)?EXPTR?\)/
    condition:
        any of them
}
