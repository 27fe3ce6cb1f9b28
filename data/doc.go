// Package data provides the token sources that mechinterp trains and
// evaluates on: streams of fixed-length token sequences, seeded and exactly
// resumable.
//
// Three kinds of [Source] exist:
//
//   - [Repeated]: [BOS] + r + r (+ r ...) with r uniform random tokens, the
//     prompts of the prefix-matching score and of induction loss (Olsson et
//     al. 2022, In-context Learning and Induction Heads). [RepeatedBatch]
//     returns one evaluation batch.
//   - [Synthetic]: a synthetic language with in-context repeats (half the
//     sequences uniform random tokens, half a Zipfian Markov chain, each
//     carrying a repeated span), on which a 2-layer attention-only model forms
//     induction heads within minutes on a laptop.
//   - [Text]: text files, directories and JSONL through a
//     [tokenizer.Tokenizer], sampled as random windows.
//
// Every source generates its i-th sequence from i and its seed alone
// ([Indexed]), so a stream's state is the index of its next sequence: saving
// it after k batches and restoring it into a fresh source continues with
// exactly the batches an uninterrupted stream would have produced, whatever
// the batch size. The same property lets a later mixture (a repeated subset
// of sequences, unique sequences, a held-out set) pick sequences by index.
//
// [New] builds a source from a [Config], the `data:` section of a training
// config file.
package data
