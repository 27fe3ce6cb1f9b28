// Package data provides the token sources that mechinterp trains and
// evaluates on: streams of fixed-length token sequences, seeded and exactly
// resumable.
//
// Four kinds of [Source] exist:
//
//   - [Repeated]: [BOS] + r + r (+ r ...) with r uniform random tokens, the
//     prompts of the prefix-matching score and of induction loss (Olsson et
//     al. 2022, In-context Learning and Induction Heads). [RepeatedBatch]
//     returns one evaluation batch.
//   - [Synthetic]: a synthetic language with in-context repeats (half the
//     sequences uniform random tokens, half a Zipfian Markov chain, each
//     carrying a repeated span), on which a 2-layer attention-only model forms
//     induction heads within minutes on a laptop.
//   - [Reference]: the reference induction recipe of docs/induction-heads.md,
//     without BOS: half uniform random tokens, half a chain whose rows are the
//     1/rank vector rolled per token, one copied span per sequence.
//   - [Text]: text files, directories and JSONL through a
//     [tokenizer.Tokenizer], read as random windows or, in order
//     "sequential", as consecutive non-overlapping ones.
//
// Every source generates its i-th sequence from i and its seed alone
// ([Indexed]), so a stream's state is the index of its next sequence: saving
// it after k batches and restoring it into a fresh source continues with
// exactly the batches an uninterrupted stream would have produced, whatever
// the batch size. The same property lets a later mixture (a repeated subset
// of sequences, unique sequences, a held-out set) pick sequences by index.
//
// A [Mixture] is the repeated-data setting of Hernandez et al. 2022 (Scaling
// Laws and Interpretability of Learning from Repeated Data) over any of
// them: a fixed budget of N training sequences, a share f of which repeat a
// subset of S sequences E times each while the rest are seen once, and a
// held-out set that is the same for every f and E. It picks base sequences
// by index (held-out first, then the subset, then the unique ones), spreads
// the repeats evenly through training and shuffles each epoch with a keyed
// permutation, so it needs no memory beyond its configuration and resumes
// like any source. [Mixture.Slot] says what each position shows, for exact
// token accounting.
//
// [New] builds a source from a [Config], the `data:` section of a training
// config file; its `mixture:` section wraps the source in a [Mixture].
package data
