// Package safetensors reads and writes the safetensors format of Hugging
// Face (https://github.com/huggingface/safetensors), in which checkpoints
// and activations are stored:
//
//	8 bytes   N, the header length, unsigned little-endian
//	N bytes   a JSON object {name: {"dtype", "shape", "data_offsets": [begin, end]}},
//	          optionally with "__metadata__": {string: string}; padded with spaces
//	rest      the byte buffer; offsets are relative to its start, little-endian values
//
// Reading is strict (see NewReader): a malformed or truncated file is an
// error naming the problem, never a panic or a huge allocation. F16, BF16 and
// F64 tensors are read as float32. Writing always produces F32, atomically.
package safetensors
