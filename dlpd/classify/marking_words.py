"""The words that tell a marking from a mention, English and Japanese: what negates,
what says "this material", what labels a classification field, what sits on a banner.
Pure data (compiled patterns); ``markings.py`` reads them around each hit.
"""

# Full-width punctuation and brackets are what Japanese text is written with: matching
# them is the point here, not an ambiguity.
# ruff: noqa: RUF001, RUF003
from __future__ import annotations

import re

NEGATION_BEFORE = re.compile(
    r"\b(?:not|n't|never|no longer)\s+(?:be\s+|been\s+|being\s+)?(?:\w+\s+)?"
    r"(?:subject\s+to|controlled|export[- ]controlled|classified|regulated|covered|"
    r"restricted|listed|contain)"
    r"|\bno\s+(?:export\s+)?licen[cs]e\s+(?:is\s+)?required|\bNLR\b"
    r"|\blicen[cs]e\s+exception\b|\beligible\s+for\s+export\b|\bpublicly\s+available\b"
    r"|\bapproved\s+for\s+public\s+release\b|\bexempt\s+from\b|\boutside\s+the\s+scope\b"
    r"|\bdoes\s+not\s+(?:contain|include|involve)\b|\bfree\s+of\b",
    re.IGNORECASE,
)
NEGATION_JA = re.compile(
    r"非該当|該当(?:し|せ)(?:ない|ず|ません)|該当なし|対象外|規制(?:の)?対象(?:外|では(?:ない|ありません))"
    r"|不要です|必要ありません"
)
# Classifications that mean "not controlled" (EAR99) or anti-terrorism controls only
# (xx99x: mass-market encryption 5A992/5D992, most products' pages).
NOT_CONTROLLED = re.compile(r"EAR\s?99|\b[0-9][A-E]99[0-9]\b")
# A classification that controls (an ECCN other than xx99x, a USML category) said to
# control: "export controlled ECCN 5A002", "ITAR USML Category XV".
CONTROLLED_CODE = re.compile(
    r"\b[0-9][A-E](?!99)[0-9]{3}\b|\bUSML\s+Cat(?:egory|\.)?\s*[IVX]{1,5}\b"
)
CONTROLLED_WORDS = re.compile(
    r"\bexport[- ]controlled\b|\bcontrolled\s+(?:under|by)\b|\blicen[cs]e\s+(?:is\s+)?required\b"
    r"|\brequires?\s+an?\s+(?:export\s+)?licen[cs]e\b|\bsubject\s+to\b|\bITAR\b|該当",
    re.IGNORECASE,
)
QUESTION = re.compile(r"[?？]\s*$")
HEDGE = re.compile(
    r"\b(?:may|might|could)\s+(?:\w+\s+){0,2}?(?:constitute|be|require|need|apply|involve)\b",
    re.IGNORECASE,
)
QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "「": "」", "『": "』", "`": "`", "«": "»"}
# A marking that is an example in a sentence ("mark it as", "例：") is no marking.
EXAMPLE = re.compile(
    r"\b(?:e\.g\.|for example|such as|example|labell?ed|mark(?:ed|ing)?\s+(?:it|them|documents?)"
    r"(?:\s+(?:as|with))?|called|titled|entitled)\b|例[:：えば]|と(?:表示|記載|記入|明記)",
    re.IGNORECASE,
)
THIS = re.compile(
    r"\b(?:this|these|the\s+attached|the\s+enclosed|the\s+following|attached|enclosed)\s+"
    r"(?:[\w-]+\s+){0,3}?(?:document|report|drawing|file|data|information|item|items|"
    r"commodit(?:y|ies)|software|material|materials|presentation|slides?|pages?|"
    r"specifications?|design|e-?mail|message|attachment|dataset|spreadsheet|notebook|"
    r"model|contents?|technology|product|equipment|hardware|code|drawings|deliverables?|"
    r"package|archive|folder|directory|repository|submission|proposal|records?)\b"
    r"|\bthe\s+(?:[\w-]+\s+){0,3}?(?:data|information|document|drawing|files?)\s+"
    r"(?:below|above|herein|attached|enclosed)\b"
    r"|\b(?:contained\s+|included\s+)?(?:herein|hereto|hereunder)\b|\bin\s+this\s+(?:document|file|report)\b",
    re.IGNORECASE,
)
THIS_JA = re.compile(
    r"(?:本|この|当該|添付の?|同封の?)(?:資料|文書|書類|書面|報告書|ファイル|データ|図面|技術|"
    r"仕様書|メール|プレゼン|スライド|製品|貨物|プログラム|情報|内容|書|件)|を添付|添付(?:した|します)"
)
# Openers of legends: a sentence that starts so is about the page it is printed on.
LEGEND_OPENER = re.compile(
    r"^(?:WARNING|NOTICE|CAUTION|EXPORT\s+WARNING|Export\s+Warning|Subject\s+to|Contains|"
    r"(?:Disclosed|Provided|Furnished|Shared|Delivered)\s+(?:to\s+you\s+)?(?:under|pursuant)|"
    r"Distribution\s+(?:authorized|statement)|Diversion\s+contrary|Export\s+of\s+(?:this|these)|"
    r"These\s+(?:items|commodities)|"
    r"(?:Controlled\s+)?(?:Technical\s+data|Technology|Software|Hardware|Data)\s+"
    r"(?:is\s+|are\s+)?(?:controlled\s+(?:under|by)|subject\s+to|restricted\s+by))\b",
    re.IGNORECASE,
)
# Labels of classification fields: "<label>: <marking>".
FIELD_LABEL = re.compile(
    r"^[\s\W]{0,4}(?:(?:export\s+)?classification|classif\w*|marking|category|categories|"
    r"distribution|handling|dissemination|control(?:led)?\s+by|ECCN|jurisdiction|"
    r"security|sensitivity|label|区分|秘密区分|機密区分|判定|該非判定|該非|分類|該当項番|項番|"
    r"取扱(?:い)?|取り扱い|管理区分|輸出管理)[\w\s()（）]{0,24}?(?:[:：]|\t)",
    re.IGNORECASE,
)
# Words that sit on banners beside the marking and do not make a line prose.
BANNER_WORDS = re.compile(
    r"\b(?:export|controlled|control|itar|ear|cui|unclassified|proprietary|confidential|"
    r"company|internal|use|only|restricted|sensitive|distribution|limited|noforn|fouo|"
    r"warning|notice|caution|subject|to|the|and|or|of|us|u\.s|regulations?|page|draft|"
    r"information|not|for|public|release|marking|markings|header|footer|banner|"
    r"classification|label)\b",
    re.IGNORECASE,
)
# Japanese levels and stamps (longest first): several of them in one sentence, or defined
# line after line, are a classification scheme, not a marking.
_JA_LEVEL_WORDS = r"関係者外秘|社外秘|部外秘|極秘|厳秘|社内限り|取扱注意|機密性[1-3１-３]"
JA_LEVELS = re.compile(_JA_LEVEL_WORDS + r"|(?<![密神便])秘(?![書訣密境話蔵])")
CUI_BANNERS = re.compile(r"CUI//[A-Z][A-Z\-/]*")
# A policy's definitions: "極秘：経営に重大な影響を与える情報" line after line.
DEFINED_LEVEL = re.compile(
    r"(?m)^[\s　・\-*•（(0-9０-９.)）]{0,6}(" + _JA_LEVEL_WORDS + r"|秘"
    r"|CUI(?://[A-Z][A-Z\-/]*)?|Top Secret|Secret|Confidential|Internal|Public|公開|社内)"
    r"\s*[:：]\s*\S"
)
LIST_SEPARATORS = re.compile(r"[、,，・/／]|\band\b|\bor\b|および|及び|または|又は|と|や")
# Japanese: a stamp stands alone; a particle after it makes it a word in a sentence.
JA_PARTICLE_AFTER = re.compile(r"\A(?:の|を|に|と|は|が|で|について|とは|する|した|という)")
JA_DOC_NOUN_AFTER = re.compile(r"\A(?:資料|文書|扱い|情報|事項|書類)")
