/*
 * Research data formats, recognised by structure at fixed offsets, without keywords.
 *
 * dlpd also feeds decompressed gzip/BGZF members, so a BAM arrives as bytes starting
 * "BAM\x01" and a .vcf.gz as "##fileformat=VCF". Most rules are condition-only: they cost
 * nothing while scanning and are evaluated once per buffer.
 */

rule genomic_fastq
{
    meta:
        category = "genomic-data"
        confidence = "high"
        description = "FASTQ reads: '@' header, a line of bases, a '+' separator line"
    condition:
        uint8(0) == 0x40 and
        // Illumina headers with comments and long-read headers (runid=, start_time=) run
        // past 512 bytes. A byte that is no newline costs one comparison.
        for any i in (1..4096) : (
            uint8(i) == 0x0A and
            // eight bases open the sequence line; OR 0x20 folds case (A/a C/c G/g T/t N/n)
            for all j in (1..8) : (
                (uint8(i + j) | 0x20) == 0x61 or (uint8(i + j) | 0x20) == 0x63 or
                (uint8(i + j) | 0x20) == 0x67 or (uint8(i + j) | 0x20) == 0x74 or
                (uint8(i + j) | 0x20) == 0x6E
            ) and (
                // the "+" separator line follows the sequence ("\n+" read as little-endian)
                for any k in (i + 9 .. i + 1024) : ( uint16(k) == 0x2B0A ) or
                // or a long read (nanopore, PacBio) runs on: 1024 bases and no line end
                for all j in (9..1024) : (
                    (uint8(i + j) | 0x20) == 0x61 or (uint8(i + j) | 0x20) == 0x63 or
                    (uint8(i + j) | 0x20) == 0x67 or (uint8(i + j) | 0x20) == 0x74 or
                    (uint8(i + j) | 0x20) == 0x6E
                )
            )
        )
}

rule genomic_sam
{
    meta:
        category = "genomic-data"
        confidence = "high"
        description = "SAM alignment text with a header line at offset 0"
    condition:
        // "@HD\tVN:", "@SQ\tSN:", "@RG\tID:", "@PG\tID:"
        (uint32be(0) == 0x40484409 and uint16be(4) == 0x564E and uint8(6) == 0x3A) or
        (uint32be(0) == 0x40535109 and uint16be(4) == 0x534E and uint8(6) == 0x3A) or
        (uint32be(0) == 0x40524709 and uint16be(4) == 0x4944 and uint8(6) == 0x3A) or
        (uint32be(0) == 0x40504709 and uint16be(4) == 0x4944 and uint8(6) == 0x3A)
}

rule genomic_bam
{
    meta:
        category = "genomic-data"
        confidence = "high"
        description = "BAM alignment (decompressed BGZF payload starts BAM\\x01)"
    condition:
        uint32be(0) == 0x42414D01
}

rule genomic_cram
{
    meta:
        category = "genomic-data"
        confidence = "high"
        description = "CRAM alignment container, major version 1 to 4"
    condition:
        uint32be(0) == 0x4352414D and uint8(4) >= 1 and uint8(4) <= 4
}

rule genomic_vcf
{
    meta:
        category = "genomic-data"
        confidence = "high"
        description = "VCF variant calls (##fileformat=VCF) or BCF2 binary"
    condition:
        (uint32be(0) == 0x23236669 and uint32be(4) == 0x6C65666F and
         uint32be(8) == 0x726D6174 and uint32be(12) == 0x3D564346) or
        (uint32be(0) == 0x42434602 and uint8(4) <= 2)
}

rule medical_image_dicom
{
    meta:
        category = "medical-image"
        confidence = "high"
        description = "DICOM Part 10 file: DICM after the 128-byte preamble"
    condition:
        uint32be(128) == 0x4449434D
}

rule medical_image_nifti
{
    meta:
        category = "medical-image"
        confidence = "high"
        description = "NIfTI-1 or NIfTI-2 neuroimaging volume (either byte order)"
    condition:
        ((uint32(0) == 348 or uint32be(0) == 348) and
         (uint32be(344) == 0x6E2B3100 or uint32be(344) == 0x6E693100)) or
        ((uint32(0) == 540 or uint32be(0) == 540) and
         (uint32be(4) == 0x6E2B3200 or uint32be(4) == 0x6E693200))
}

rule ml_model_safetensors
{
    meta:
        category = "ml-model"
        confidence = "high"
        description = "safetensors weights: u64 header length, then a JSON header with dtype and data_offsets"
    strings:
        $dtype = "\"dtype\""
        $offsets = "\"data_offsets\""
    condition:
        uint32(4) == 0 and uint32(0) >= 2 and uint32(0) < filesize and
        uint16be(8) == 0x7B22 and
        $dtype in (8 .. 8 + uint32(0)) and $offsets in (8 .. 8 + uint32(0))
}

rule ml_model_gguf
{
    meta:
        category = "ml-model"
        confidence = "high"
        description = "GGUF model (llama.cpp), versions 1 to 3"
    condition:
        uint32be(0) == 0x47475546 and uint32(4) >= 1 and uint32(4) <= 3
}

rule ml_model_pytorch
{
    meta:
        category = "ml-model"
        confidence = "high"
        description = "PyTorch checkpoint: torch.save zip archive or legacy pickle with torch's magic number"
    strings:
        $data_pkl = "/data.pkl"
        $version = "/version"
        $byteorder = "/byteorder"
        $serialization_id = "/.data/serialization_id"
    condition:
        (uint32be(0) == 0x504B0304 and $data_pkl and ($version or $byteorder or $serialization_id)) or
        // pickle protocol 2, LONG1 of 10 bytes: torch's magic 0x1950a86a20f9469cfc6c
        (uint32be(0) == 0x80028A0A and uint32be(4) == 0x6CFC9C46 and
         uint32be(8) == 0xF9206AA8 and uint16be(12) == 0x5019)
}

rule ml_model_keras
{
    meta:
        category = "ml-model"
        confidence = "medium"
        description = "Keras model: .keras zip (model.weights.h5) or HDF5 with a keras_version attribute"
    strings:
        $weights_h5 = "model.weights.h5"
        $keras_version = "keras_version"
    condition:
        (uint32be(0) == 0x504B0304 and $weights_h5) or
        (uint32be(0) == 0x89484446 and $keras_version)
}

rule ml_model_onnx
{
    meta:
        category = "ml-model"
        confidence = "medium"
        description = "ONNX ModelProto: ir_version varint, then producer_name or graph"
    condition:
        // Field 1 (ir_version, tag 0x08) is written first; onnx 1.23 writes IR version 14.
        // Versions up to 63 leave room to grow and stay a one-byte varint.
        filesize > 32 and uint8(0) == 0x08 and uint8(1) >= 3 and uint8(1) < 0x40 and
        (
            // producer_name (tag 0x12): a short name, then another ModelProto field tag:
            // producer_version 0x1A, domain 0x22, model_version 0x28, doc_string 0x32,
            // graph 0x3A, opset_import 0x42
            (uint8(2) == 0x12 and uint8(3) > 0 and uint8(3) < 0x40 and
             (uint8(4 + uint8(3)) == 0x1A or uint8(4 + uint8(3)) == 0x22 or
              uint8(4 + uint8(3)) == 0x28 or uint8(4 + uint8(3)) == 0x32 or
              uint8(4 + uint8(3)) == 0x3A or uint8(4 + uint8(3)) == 0x42)) or
            // no producer: the graph (tag 0x3A) follows, its length as a 1- to 3-byte
            // varint, and the GraphProto opens with a node (0x0A) or its name (0x12)
            (uint8(2) == 0x3A and
             ((uint8(3) < 0x80 and (uint8(4) == 0x0A or uint8(4) == 0x12)) or
              (uint8(3) >= 0x80 and uint8(4) < 0x80 and (uint8(5) == 0x0A or uint8(5) == 0x12)) or
              (uint8(3) >= 0x80 and uint8(4) >= 0x80 and uint8(5) < 0x80 and
               (uint8(6) == 0x0A or uint8(6) == 0x12))))
        )
}
