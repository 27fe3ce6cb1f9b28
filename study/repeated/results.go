package repeated

// Row is one run at one checkpoint: a line of results.jsonl and of
// results.csv. Losses are mean cross-entropies in nats per token.
type Row struct {
	// Run is the run's ID (see Run.ID); the fields after it describe the
	// run and repeat on each of its rows, so the table stands alone.
	Run      string  `json:"run"`
	Fraction float64 `json:"fraction"` // f, as configured
	Epochs   int     `json:"epochs"`   // E; 0 when f = 0
	Size     string  `json:"size"`
	Arch     string  `json:"arch"`
	NLayers  int     `json:"n_layers"`
	AttnOnly bool    `json:"attn_only"`
	DModel   int     `json:"d_model"`
	NHeads   int     `json:"n_heads"`
	// Params is the number of non-embedding parameters (Kaplan et al.
	// 2020's N, which Hernandez et al. 2022 use for effective size).
	Params int    `json:"params"`
	Seed   uint64 `json:"seed"`
	// RepeatedShare is the share of training sequences drawn from the
	// repeated subset, as realized (f rounded to whole sequences);
	// SubsetSequences is the subset's size.
	RepeatedShare   float64 `json:"repeated_share"`
	SubsetSequences int     `json:"subset_sequences"`
	// ContextFreeLoss is the unigram entropy of the held-out set's predicted
	// tokens: the loss of the best model that ignores context.
	ContextFreeLoss float64 `json:"context_free_loss"`

	Step   int   `json:"step"`
	Tokens int64 `json:"tokens"`
	// TrainLoss is the logged training loss of the step (nil at step 0).
	TrainLoss *float64 `json:"train_loss"`
	// TestLoss is the loss on held-out unique sequences.
	TestLoss float64 `json:"test_loss"`
	// RepeatedLoss is the loss on the repeated subset (nil when f = 0).
	RepeatedLoss *float64 `json:"repeated_loss"`
	// CopyLoss is the copying evaluation: the loss on copies 2..k of a
	// held-out passage repeated k times in context; CopyLossByCopy[i] is the
	// loss on copy i+2.
	CopyLoss       float64   `json:"copy_loss"`
	CopyLossByCopy []float64 `json:"copy_loss_by_copy"`
	// InductionLoss is the loss on [BOS] + r + r with r uniform random
	// tokens (probes.InductionLosses).
	InductionLoss float64 `json:"induction_loss"`
	// ICLScore is Olsson et al. 2022's in-context-learning score on
	// held-out sequences (probes.ICLScore).
	ICLScore float64 `json:"icl_score"`
	// PrefixMatching and Copying are the per-head scores, [layer][head]
	// (probes.Heads); PrefixMax is the largest prefix-matching score and
	// PrefixMaxHead its head ("L1H3").
	PrefixMatching [][]float64 `json:"prefix_matching"`
	Copying        [][]float64 `json:"copying"`
	PrefixMax      float64     `json:"prefix_max"`
	PrefixMaxHead  string      `json:"prefix_max_head"`
}

// Fates of a run's induction heads over training, against the f = 0 run of
// the same architecture, size and seed (Hernandez et al. 2022, section 5).
const (
	// FateFormed: a head's prefix-matching score crossed the threshold for
	// good, no later than DelayFactor times the baseline's formation step.
	FateFormed = "formed"
	// FateDelayed: formed for good, later than that.
	FateDelayed = "delayed"
	// FateCollapsed: some head crossed the threshold, but at the last
	// checkpoint no head is above it.
	FateCollapsed = "collapsed"
	// FateReplaced: the heads that crossed the threshold first are below it
	// at the end while other heads are above it.
	FateReplaced = "replaced"
	// FateNever: no head ever reached the threshold.
	FateNever = "never"
)

// Summary is one run's outcome: its last checkpoint, the damage against its
// f = 0 baseline, its effective size and the fate of its induction heads.
type Summary struct {
	Run string `json:"run"`
	// Final is the row of the last checkpoint measured.
	Final Row `json:"final"`
	// Complete is set when the run reached its last training step.
	Complete bool `json:"complete"`
	// Baseline is the ID of the f = 0 run of the same architecture, size
	// and seed ("" when it has no results; the damages are then NaN, written
	// as null).
	Baseline string `json:"baseline"`
	// TestDamage, CopyDamage are the final losses minus the baseline's;
	// PrefixDamage is the baseline's PrefixMax minus this run's.
	TestDamage   *float64 `json:"test_damage"`
	CopyDamage   *float64 `json:"copy_damage"`
	PrefixDamage *float64 `json:"prefix_damage"`
	// The relative damages put the three on one scale: the share of what the
	// baseline learned that this run lost. For a loss L with baseline L0 it
	// is (L - L0) / (Lctx - L0), Lctx being the context-free (unigram) loss
	// of the held-out data; for prefix matching (P0 - P) / P0.
	TestDamageRel   *float64 `json:"test_damage_rel"`
	CopyDamageRel   *float64 `json:"copy_damage_rel"`
	PrefixDamageRel *float64 `json:"prefix_damage_rel"`
	// EffectiveParams is the non-embedding size of a model of the f = 0
	// family (same architecture and seed) that reaches this run's final
	// test loss, interpolated in log size; nil outside the family's range.
	// EffectiveShare is EffectiveParams / Params. EffectiveCopyParams does
	// the same with the copy loss.
	EffectiveParams     *float64 `json:"effective_params"`
	EffectiveShare      *float64 `json:"effective_share"`
	EffectiveCopyParams *float64 `json:"effective_copy_params"`
	// Fate is one of the Fate constants; Formation is the step at which the
	// first head formed for good (-1 if none) and BaselineFormation the
	// baseline's.
	Fate              string `json:"fate"`
	Formation         int    `json:"formation"`
	BaselineFormation int    `json:"baseline_formation"`
	// MemorizedStep is the first checkpoint at which the loss on the
	// repeated subset is at most Analysis.MemorizedLoss (-1 if never).
	MemorizedStep int `json:"memorized_step"`
	// PeakTestStep is the checkpoint after the first at which the test loss
	// is highest relative to the running minimum before it; DoubleDescent is
	// set when that rise exceeds Analysis.DescentRise (the test loss rises
	// midway through training and falls again).
	DoubleDescent bool    `json:"double_descent"`
	DescentStart  int     `json:"descent_start"`
	PeakTestStep  int     `json:"peak_test_step"`
	DescentRise   float64 `json:"descent_rise"`
}

// Family is the f = 0 size family of one architecture and seed: final test
// and copy losses against non-embedding size, the curve that effective size
// is read from.
type Family struct {
	Arch     string    `json:"arch"`
	Seed     uint64    `json:"seed"`
	Sizes    []string  `json:"sizes"`
	Params   []int     `json:"params"`
	TestLoss []float64 `json:"test_loss"`
	CopyLoss []float64 `json:"copy_loss"`
}

// Analysis is what Analyze makes of a study's rows: the table, one summary
// per run and the f = 0 size families.
type Analysis struct {
	Study string `json:"study"`
	// Planned is the number of runs in the study's grid; Runs holds the
	// summaries of those with results, in grid order; Missing lists the IDs
	// of the others.
	Planned int       `json:"planned"`
	Runs    []Summary `json:"runs"`
	Missing []string  `json:"missing"`
	// Families are the f = 0 size families, by architecture and seed.
	Families []Family `json:"families"`
	// ContextFreeLoss is the unigram loss of the held-out data (Lctx above).
	ContextFreeLoss float64 `json:"context_free_loss"`
	// Threshold is the prefix-matching score at which an induction head
	// counts as formed (0.4, as in probes.Thresholds); DelayFactor the
	// formation delay beyond which it counts as delayed; MemorizedLoss the
	// repeated-subset loss counted as memorized; DescentRise the rise of
	// test loss counted as double descent.
	Threshold     float64 `json:"threshold"`
	DelayFactor   float64 `json:"delay_factor"`
	MemorizedLoss float64 `json:"memorized_loss"`
	DescentRise   float64 `json:"descent_rise"`
	// Rows is the whole table, by run (grid order) and step.
	Rows []Row `json:"rows"`
}
