/*
 * Japanese confidentiality markings (秘密区分 / 社外秘 stamps). Text arrives as UTF-8,
 * decoded from Shift_JIS / EUC-JP / UTF-16 files or extracted from Office and PDF.
 *
 * 秘 alone is everywhere (秘書 secretary, 秘密保持契約 NDA, 秘訣, 便秘, 神秘), so it only
 * counts as a stamp: bracketed, after 秘密区分, or alone on its line.
 * "Confidential" in English is not this category.
 */

rule jp_confidential_marking
{
    meta:
        category = "jp-confidential"
        marking = "stamp"
        confidence = "high"
        description = "極秘, 社外秘, 部外秘, 関係者外秘, 厳秘, ㊙, a bracketed 秘 or 機密, a 秘密区分 line, 機密性2/3"
    strings:
        $gokuhi = "極秘"
        $shagaihi = "社外秘"
        $bugaihi = "部外秘"
        $kankeishagaihi = "関係者外秘"
        $genpi = "厳秘"
        // ㊙ is three bytes, which random data holds once per ~16 MB: it must be followed
        // by text (a space, a line end, a bracket or a kanji/kana character).
        $maruhi_symbol = /㊙([\t\n\r ]|　|】|）|\)|[\xE3-\xE9][\x80-\xBF][\x80-\xBF])/
        $maruhi_kana = "マル秘"
        $bracketed = /(【|［|\[|\(|（|〔|「|〈|<|＜)秘(】|］|\]|\)|）|〕|」|〉|>|＞)/
        $kubun = /秘密区分([ \t:]|：|　){0,4}(極秘|秘|社外秘|部外秘)/
        // Government and institute classifications: 機密性2/3 (機密性1 is public), 要機密;
        // a bracketed 機密.
        $kimitsusei = /機密性(２|2|３|3)(情報)?/
        $youkimitsu = "要機密"
        $kimitsu_bracketed = /(【|［|\[|〔|＜|<)(機密|秘密)(情報)?(】|］|\]|〕|＞|>)/
    condition:
        any of them
}

rule jp_confidential_handling
{
    meta:
        category = "jp-confidential"
        marking = "stamp"
        confidence = "medium"
        description = "取扱注意, 関係者限り and internal-only stamps, or 秘 alone on a line"
    strings:
        $toriatsukai = /取(り)?扱(い)?(厳重)?注意/
        $shanai_kagiri = /社内(限り|限定|専用)/
        $gaibuhi = "外部秘"
        $hi_line = /(^|\n)([ \t]|　){0,8}秘([ \t]|　){0,8}\r?\n/
        $kankeisha_kagiri = "関係者限り"
    condition:
        any of them
}

rule jp_confidential_nda
{
    meta:
        category = "jp-confidential"
        marking = "reference"
        confidence = "high"
        description = "Disclosed under a non-disclosure agreement (秘密保持契約に基づき開示): confidential without a stamp"
    strings:
        $nda_ja = /(秘密保持|機密保持|守秘義務|守秘)(契約|義務|合意)(書)?(に基づ(き|いて|く)|の対象|により)/
        $nda_acronym_ja = /NDA(契約)?(に基づ(き|いて|く)|締結先(限り|以外)|の対象)/
        $nda_en = /(disclosed|provided|furnished|shared|delivered) (to you )?(under|pursuant to|subject to|in accordance with) (the terms of )?(the|a|an|our|your) (mutual )?(non-?disclosure|confidentiality|NDA) ?(agreement)?/ nocase
        $nda_subject_en = /subject to (the|a|an|our) (mutual )?(non-?disclosure|confidentiality) agreement/ nocase
    condition:
        any of them
}
