"""How much the corpus reader reads and holds at once. Readers look these up here when they run
(``limits.READ_CHUNK_BYTES``), so one place sets them (tests shrink them to reach the edges)."""

MAX_LINE_BYTES = 64 * 1024 * 1024  # a longer line is an error: it is read into memory at once
BINARY_SNIFF_BYTES = 8 * 1024      # a NUL byte in this head of a text stream means the file is binary
READ_CHUNK_BYTES = 1024 * 1024     # raw reads from disk (and progress updates), and text chunks, are of this size
DEFAULT_BLOCK_BYTES = 1 << 22      # Corpus.iter_blocks() packs about this many bytes of documents per block
SHARD_BYTES = 16 << 20             # Corpus.shards() cuts plain text files into byte ranges of about this size
ZSTD_INPUT_BYTES = 64 * 1024       # compressed bytes decompressed per step
ZSTD_MAX_WINDOW = 1 << 31          # accept files written with `zstd --long=31`
PARQUET_BATCH_ROWS = 1024
DATASET_BATCH_ROWS = 1000
