/*
 * Genotype data that has no magic number: consumer raw-data downloads, PLINK filesets,
 * SAM records printed without a header.
 *
 * Rows of text cannot be told apart by YARA strings without an atom that hits every
 * file (a tab and a digit), and a genotype export has hundreds of thousands of rows, each
 * of which would be a match to collect. So these rules are condition-only triggers on the
 * first bytes, and the rule's validator brings a finder anchored at the start of the
 * buffer (Python's re tries an anchored pattern once): the rows are read there, and the
 * validator decides. A trigger that fires on a buffer that is no such data costs one
 * failed anchored match.
 *
 * PLINK's binary .bed has a magic number and needs no validator.
 */

rule genotype_consumer_export
{
    meta:
        category = "genomic-data"
        confidence = "high"
        validator = "genotype_calls"
        description = "Genotype raw data (23andMe, AncestryDNA, MyHeritage, FamilyTreeDNA, Living DNA, PLINK --recode 23): 20 calls in a row from the start"
    condition:
        // 20 rows of at least "rs1\t1\t1\tAA\n" (11 bytes)
        filesize >= 220 and (
            // a "#" comment block, a quoted field, an id or header word, a UTF-8 BOM
            uint8(0) == 0x23 or uint8(0) == 0x22 or
            ((uint8(0) | 0x20) >= 0x61 and (uint8(0) | 0x20) <= 0x7A) or
            (uint16be(0) == 0xEFBB and uint8(2) == 0xBF)
        )
}

rule genomic_plink_bed
{
    meta:
        category = "genomic-data"
        confidence = "medium"
        description = "PLINK 1 binary genotype table (.bed): magic 6C 1B, SNP-major mode 01, then two bits per call"
    condition:
        // Medium: three fixed bytes, one file in 2^24 of random binary; the rest of the
        // file is calls, every bit pattern valid, so there is nothing more to check.
        uint16be(0) == 0x6C1B and uint8(2) == 0x01 and filesize > 3
}

rule genomic_plink_fam
{
    meta:
        category = "genomic-data"
        confidence = "medium"
        validator = "plink_fam"
        description = "PLINK sample table (.fam) or genotype table (.ped): family, sample, father, mother, sex, phenotype per person, then calls"
    condition:
        // a visible first character: the sample table starts with a family id
        uint8(0) > 0x20 and uint8(0) < 0x7F
}

rule genomic_plink_bim
{
    meta:
        category = "genomic-data"
        confidence = "medium"
        validator = "plink_bim"
        description = "PLINK variant map (.bim) of a genotype fileset: chromosome, id, cM, position, two alleles"
    condition:
        // a chromosome: a digit, or a letter (X, Y, MT, a contig name)
        (uint8(0) >= 0x30 and uint8(0) <= 0x39) or
        ((uint8(0) | 0x20) >= 0x61 and (uint8(0) | 0x20) <= 0x7A)
}

rule genomic_sam_records
{
    meta:
        category = "genomic-data"
        confidence = "high"
        validator = "sam_records"
        description = "SAM alignment records without a header (samtools view): 11 typed fields, read and qualities of one length"
    condition:
        // a read name (SAM: [!-?A-~], so never a header's "@")
        uint8(0) >= 0x21 and uint8(0) <= 0x7E and uint8(0) != 0x40
}
