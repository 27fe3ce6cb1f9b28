package models

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Weight processing as TransformerLens's HookedTransformer.process_weights
// does it: rewrites of the parameters that leave the model's output
// distribution unchanged but make the weights easier to read (Elhage et al.
// 2021, "A Mathematical Framework for Transformer Circuits", on folding
// LayerNorm and on the residual stream's free directions; TransformerLens
// docs, "Weight Processing").
//
// How a processed model is recorded. TransformerLens deletes folded
// LayerNorm weights and switches its config to "LNPre" (normalize only).
// Here a folded LayerNorm keeps its tensors, set to gain 1 and bias 0, and
// the config keeps normalization "LN": that is LNPre exactly (x̂·1+0 = x̂),
// hook_normalized fires x̂ as TransformerLens's LNPre does, and the saved
// directory is still a plain Hugging Face GPT-2 that any GPT-2 loader runs
// to the same log-probabilities. Steps that change the unembedding or the
// embedding untie them first (tie_word_embeddings becomes false and
// lm_head.weight is stored), as TransformerLens's GPT-2 is untied. Nothing
// else needs recording: every step is idempotent, so processing a saved,
// processed checkpoint again changes nothing beyond float rounding, and
// [ProcessedSteps] reads from the weights which invariants hold.

// Process step names, as `mechinterp run --process` takes them, in the
// order Process applies them (TransformerLens's order).
const (
	StepFoldLN          = "fold_ln"
	StepCenterWriting   = "center_writing"
	StepCenterUnembed   = "center_unembed"
	StepFoldValueBiases = "fold_value_biases"
)

// ProcessSteps lists the step names in the order Process applies them.
var ProcessSteps = []string{StepFoldLN, StepCenterWriting, StepCenterUnembed, StepFoldValueBiases}

// ProcessOptions selects weight-processing steps. The zero value does
// nothing; TransformerLens's from_pretrained default turns all four on.
type ProcessOptions struct {
	// FoldLN folds each LayerNorm's gain and bias into the weights that
	// read its output and centres those weights along d_model (see
	// FoldLayerNorm).
	FoldLN bool
	// CenterWriting removes the mean along d_model from every weight that
	// writes to the residual stream (see CenterWritingWeights).
	CenterWriting bool
	// CenterUnembed removes the mean over the vocabulary from the
	// unembedding and its bias (see CenterUnembed).
	CenterUnembed bool
	// FoldValueBiases moves the value biases into the output bias (see
	// FoldValueBiases).
	FoldValueBiases bool
}

// AllProcessing turns every step on, as TransformerLens's
// HookedTransformer.from_pretrained does by default.
var AllProcessing = ProcessOptions{FoldLN: true, CenterWriting: true, CenterUnembed: true, FoldValueBiases: true}

// ParseProcessOptions reads a comma-separated list of step names
// ("fold_ln,center_writing,center_unembed,fold_value_biases"; "all" for
// every step; "" or "none" for none). Order does not matter: Process
// applies the steps in TransformerLens's order.
func ParseProcessOptions(s string) (ProcessOptions, error) {
	var o ProcessOptions
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "", "none":
		case "all":
			o = AllProcessing
		case StepFoldLN:
			o.FoldLN = true
		case StepCenterWriting:
			o.CenterWriting = true
		case StepCenterUnembed:
			o.CenterUnembed = true
		case StepFoldValueBiases:
			o.FoldValueBiases = true
		default:
			return ProcessOptions{}, fmt.Errorf("unknown processing step %q (the steps are %s, or all)", strings.TrimSpace(f), strings.Join(ProcessSteps, ", "))
		}
	}
	return o, nil
}

// Steps returns the names of the selected steps in the order Process
// applies them.
func (o ProcessOptions) Steps() []string {
	var s []string
	for i, on := range []bool{o.FoldLN, o.CenterWriting, o.CenterUnembed, o.FoldValueBiases} {
		if on {
			s = append(s, ProcessSteps[i])
		}
	}
	return s
}

// String is the comma-separated step list ParseProcessOptions reads.
func (o ProcessOptions) String() string { return strings.Join(o.Steps(), ",") }

// Process applies the selected steps to m in TransformerLens's order
// (fold_ln, center_writing, center_unembed, fold_value_biases). Each step
// leaves the log-probabilities unchanged up to float32 rounding; the logits
// themselves are unchanged except by center_unembed, which shifts each
// position's logits by their mean. Steps that need the unembedding or the
// embedding on their own untie them first (m.Config.Untied becomes true and
// m.Params is replaced by a larger buffer). All checks run before anything
// changes, so on error m is as it was.
func Process(m *Model, o ProcessOptions) error {
	if m == nil || m.Params == nil {
		return errors.New("models: process: nil model")
	}
	if o.CenterWriting && m.Config.Normalization == NormRMS {
		// RMSNorm does not subtract the mean, so the residual stream's mean
		// direction is read; TransformerLens skips the step for RMSNorm
		// models too.
		o.CenterWriting = false
	}
	if o.FoldLN {
		if err := checkFoldLN(m.Config); err != nil {
			return err
		}
	}
	if o.CenterWriting {
		if err := checkCenterWriting(m.Config); err != nil {
			return err
		}
	}
	if o.FoldLN || o.CenterWriting || o.CenterUnembed {
		if err := Untie(m); err != nil {
			return err
		}
	}
	// Folding needs somewhere to put what it folds: LayerNorm's biases go
	// into the readers' biases, the value biases into b_O. An architecture
	// without those biases (GPT-NeoX has no b_U, Qwen2 no b_O) gets them,
	// zero, as TransformerLens's models always have them.
	need := m.Config
	if o.FoldLN && m.Config.HasLN() {
		need.NoQKVBias, need.NoMLPBias, need.NoUnembedBias = false, false, false
	}
	if o.FoldValueBiases && !m.Config.NoQKVBias {
		need.NoAttnOutBias = false
	}
	if need != m.Config {
		if err := relayout(m, need); err != nil {
			return err
		}
	}
	steps := []struct {
		on bool
		fn func(*Model) error
	}{{o.FoldLN, FoldLayerNorm}, {o.CenterWriting, CenterWritingWeights}, {o.CenterUnembed, CenterUnembed}, {o.FoldValueBiases, FoldValueBiases}}
	for _, s := range steps {
		if s.on {
			if err := s.fn(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// relayout moves m's parameters into the layout of cfg, which may only add
// tensors (zeros). The logits do not change.
func relayout(m *Model, cfg Config) error {
	p := NewParams(cfg)
	for _, q := range m.Params.List() {
		dst := p.slice(q.Name)
		if dst == nil {
			return fmt.Errorf("models: process: %s has no place in the new layout", q.Name)
		}
		copy(dst, m.Params.slice(q.Name))
	}
	nm, err := FromParams(cfg, p)
	if err != nil {
		return fmt.Errorf("models: process: %w", err)
	}
	*m = *nm
	return nil
}

// Untie gives the unembedding its own matrix, lm_head.weight, a copy of
// wte.weight, so that the embedding and unembedding can be processed
// apart. The logits do not change. It replaces m.Params (the layout grows
// by one [d_vocab,d_model] tensor) and sets m.Config.Untied; an untied
// model is left as it is.
func Untie(m *Model) error {
	if m.Config.Untied {
		return nil
	}
	cfg := m.Config
	cfg.Untied = true
	p := NewParams(cfg)
	for _, q := range m.Params.List() {
		copy(p.slice(q.Name), m.Params.slice(q.Name))
	}
	copy(p.slice("lm_head.weight"), m.Params.slice("wte.weight"))
	nm, err := FromParams(cfg, p)
	if err != nil {
		return fmt.Errorf("models: untie: %w", err)
	}
	*m = *nm
	return nil
}

func checkFoldLN(c Config) error {
	switch {
	case !c.HasNorm():
		return errors.New("models: fold_ln: the model has no LayerNorm to fold (normalization is none)")
	case c.Positional == PosShortformer:
		// Shortformer adds W_pos to the inputs of W_Q and W_K after ln1, so
		// ln1's gain cannot be moved into W_Q and W_K without changing what
		// the positions contribute.
		return errors.New("models: fold_ln: not possible with shortformer positions, which reach W_Q and W_K without passing ln1")
	}
	return nil
}

// checkUntied refuses a tied model for a step that would change W_U through
// W_E (or the reverse).
func checkUntied(c Config, step string) error {
	if !c.Untied {
		return fmt.Errorf("models: %s: the unembedding is tied to the embedding; Untie the model first (Process does)", step)
	}
	return nil
}

func checkCenterWriting(c Config) error {
	if !c.HasLN() {
		return errors.New("models: center_writing: the model has no LayerNorm (none, or RMSNorm, which keeps the mean), so the mean of the residual stream reaches the output and centring would change it")
	}
	return nil
}

// checkFoldBiases refuses a LayerNorm fold with nowhere to put the biases.
func checkFoldBiases(c Config) error {
	if c.HasLN() && (c.NoQKVBias || (!c.AttnOnly && c.NoMLPBias) || c.NoUnembedBias) {
		return errors.New("models: fold_ln: LayerNorm's biases need the q/k/v, MLP and unembedding biases to fold into (Process adds them)")
	}
	return nil
}

// FoldLayerNorm folds every LayerNorm's gain w and bias b into the weights
// that read its output, as TransformerLens's fold_layer_norm (fold_biases
// and center_weights on): for ln1 and W_Q, W_K, W_V (and ln2 and W_in and
// W_gate, ln_final and W_U), b_new = b_W + b·W, W_new = diag(w)·W, then
// W_new minus its mean along d_model. The centring is free because
// LayerNorm's normalized output x̂ has zero mean along d_model, so
// x̂·(W + 1·vᵀ) = x̂·W for any v. Afterwards every gain is 1 and every bias
// 0 (LNPre; see the comment at the top of process.go). RMSNorm's gain folds
// the same way, without bias and without the centring (its output keeps
// its mean), leaving gain 1 (TransformerLens's RMSPre). The model must have
// LayerNorm or RMSNorm and standard or rotary positions, the biases to fold
// into, and be untied (see Untie; Process unties it and adds the biases).
func FoldLayerNorm(m *Model) error {
	c := m.Config
	if err := cmp.Or(checkFoldLN(c), checkFoldBiases(c), checkUntied(c, "fold_ln")); err != nil {
		return err
	}
	C, M, V := c.DModel, c.DMLP, c.DVocab
	QKV := (c.NHeads + 2*c.NKVHeads) * c.DHead
	centre := c.HasLN()
	p := m.Params
	for l := 0; l < c.NLayers; l++ {
		w := p.layer(l)
		foldInto(w.attnW, w.attnB, w.ln1w, w.ln1b, C, QKV, centre)
		if !c.AttnOnly {
			foldInto(w.fcW, w.fcB, w.ln2w, w.ln2b, C, M, centre)
			if c.GatedMLP {
				foldInto(w.gateW, w.gateB, w.ln2w, w.ln2b, C, M, centre)
			}
		}
	}
	// ln_final into W_U = lm_head.weightᵀ: lm_head is stored [V,C], so the
	// fold runs along each row rather than each column.
	wu, bu := p.unembed(c)
	gain, bias := p.slice("ln_f.weight"), p.slice("ln_f.bias")
	for v := 0; v < V; v++ {
		row := wu[v*C : (v+1)*C]
		var db, mean float64
		for j, x := range row {
			if bias != nil {
				db += float64(bias[j]) * float64(x)
			}
			mean += float64(x) * float64(gain[j])
		}
		mean /= float64(C)
		if !centre {
			mean = 0
		}
		if bu != nil {
			bu[v] = float32(float64(bu[v]) + db)
		}
		for j, x := range row {
			row[j] = float32(float64(x)*float64(gain[j]) - mean)
		}
	}
	setIdentityLN(p)
	return nil
}

// foldInto folds a LayerNorm (gain, bias [C]; bias nil for RMSNorm) into
// the reading weight W [C,O] (stored [in,out]) and its bias [O] (nil when
// there is no bias to fold), then, with centre, centres each column of W.
func foldInto(W, b, gain, bias []float32, C, O int, centre bool) {
	db := make([]float64, O)
	mean := make([]float64, O)
	for i := 0; i < C; i++ {
		row := W[i*O : (i+1)*O]
		bi, gi := 0.0, float64(gain[i])
		if bias != nil {
			bi = float64(bias[i])
		}
		for j, x := range row {
			db[j] += bi * float64(x)
			mean[j] += gi * float64(x)
		}
	}
	for j := range b {
		b[j] = float32(float64(b[j]) + db[j])
	}
	for j := range mean {
		mean[j] /= float64(C)
		if !centre {
			mean[j] = 0
		}
	}
	for i := 0; i < C; i++ {
		row := W[i*O : (i+1)*O]
		gi := float64(gain[i])
		for j, x := range row {
			row[j] = float32(float64(x)*gi - mean[j])
		}
	}
}

// setIdentityLN sets every LayerNorm gain to 1 and bias to 0.
func setIdentityLN(p *Params) {
	for _, q := range p.List() {
		switch {
		case hasSuffix(q.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight"):
			for i, s := 0, p.slice(q.Name); i < len(s); i++ {
				s[i] = 1
			}
		case hasSuffix(q.Name, "ln_1.bias", "ln_2.bias", "ln_f.bias"):
			clear(p.slice(q.Name))
		}
	}
}

// CenterWritingWeights removes the mean along d_model from every vector
// written to the residual stream, as TransformerLens's
// center_writing_weights: each row of W_E and W_pos, each output row of
// W_O and W_out, and the biases b_O and b_out. Every reader of the residual
// stream is a LayerNorm, which subtracts the mean first, so the output is
// unchanged (the residual stream's mean direction carries nothing). With
// shortformer positions W_pos is left alone: it reaches W_Q and W_K without
// a LayerNorm. The model must have LayerNorm and be untied (centring W_E
// must not centre W_U).
func CenterWritingWeights(m *Model) error {
	c := m.Config
	if err := cmp.Or(checkCenterWriting(c), checkUntied(c, "center_writing")); err != nil {
		return err
	}
	C := c.DModel
	p := m.Params
	centerRows(p.slice("wte.weight"), C)
	if c.Positional == PosStandard {
		centerRows(p.slice("wpe.weight"), C)
	}
	for l := 0; l < c.NLayers; l++ {
		w := p.layer(l)
		centerRows(w.projW, C)
		centerRows(w.projB, C)
		if !c.AttnOnly {
			centerRows(w.fcProjW, C)
			centerRows(w.fcPrB, C)
		}
	}
	return nil
}

// centerRows subtracts from each row of x [n,C] its mean.
func centerRows(x []float32, C int) {
	for i := 0; i+C <= len(x); i += C {
		row := x[i : i+C]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(C)
		for j, v := range row {
			row[j] = float32(float64(v) - mean)
		}
	}
}

// CenterUnembed removes from W_U [d_model,vocab] its mean over the
// vocabulary, and from b_U its mean, as TransformerLens's center_unembed.
// Each position's logits shift by a constant, which softmax ignores, so
// the log-probabilities are unchanged and logit differences are the same.
// The model must be untied.
func CenterUnembed(m *Model) error {
	c := m.Config
	if err := checkUntied(c, "center_unembed"); err != nil {
		return err
	}
	C, V := c.DModel, c.DVocab
	wu, bu := m.Params.unembed(c)
	// W_U[:,v] is row v of lm_head.weight [V,C]: centre each column.
	mean := make([]float64, C)
	for v := 0; v < V; v++ {
		for j, x := range wu[v*C : (v+1)*C] {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(V)
	}
	for v := 0; v < V; v++ {
		row := wu[v*C : (v+1)*C]
		for j, x := range row {
			row[j] = float32(float64(x) - mean[j])
		}
	}
	centerRows(bu, V)
	return nil
}

// FoldValueBiases moves each layer's value bias b_V into the attention
// output bias, b_O += Σ_h b_V[h]·W_O[h], and sets b_V to 0, as
// TransformerLens's fold_value_biases. Every row of an attention pattern
// sums to 1, so each head's output gains exactly b_V[h]·W_O[h] from its
// value bias at every position; moving it into b_O leaves hook_attn_out
// and everything after it unchanged (hook_v and hook_z lose the bias).
//
// With grouped-query attention, b_V[h] is the bias of head h's key/value
// head. A model without value biases has nothing to fold; one without b_O
// must get it first (Process adds it).
func FoldValueBiases(m *Model) error {
	c := m.Config
	if c.NoQKVBias {
		return nil
	}
	if c.NoAttnOutBias {
		return errors.New("models: fold_value_biases: the model has no attention output bias to fold the value biases into (Process adds it)")
	}
	C, D, G := c.DModel, c.DHead, c.NHeads/c.NKVHeads
	off, n := c.qkvSplit(2)
	for l := 0; l < c.NLayers; l++ {
		w := m.Params.layer(l)
		bv := w.attnB[off : off+n]
		add := make([]float64, C)
		for i := 0; i < c.NHeads*D; i++ {
			b := bv[(i/D/G)*D+i%D]
			row := w.projW[i*C : (i+1)*C]
			for j, x := range row {
				add[j] += float64(b) * float64(x)
			}
		}
		for j := range w.projB {
			w.projB[j] = float32(float64(w.projB[j]) + add[j])
		}
		clear(bv)
	}
	return nil
}

// ProcessedSteps reads from m's weights which processing invariants hold,
// so that a checkpoint processed and saved earlier can be recognized:
// fold_ln when every LayerNorm gain is exactly 1 and every bias 0;
// center_writing when W_E, W_pos (standard positions), W_O, b_O, W_out and
// b_out have zero mean along d_model; center_unembed when the model is
// untied and W_U and b_U have zero mean over the vocabulary;
// fold_value_biases when every value bias is 0. Means count as zero below
// 1e-5 of the vector's root-mean-square (float32 rounding of a centred
// vector is far below that). A fresh model may pass some checks
// (zero-initialized biases, say): the answer is about the weights, not
// their history.
func ProcessedSteps(m *Model) ProcessOptions {
	c := m.Config
	p := m.Params
	C, V := c.DModel, c.DVocab
	var o ProcessOptions
	if c.HasNorm() {
		o.FoldLN = true
		for _, q := range p.List() {
			s := p.slice(q.Name)
			if hasSuffix(q.Name, "ln_1.weight", "ln_2.weight", "ln_f.weight") && slices.ContainsFunc(s, func(x float32) bool { return x != 1 }) ||
				hasSuffix(q.Name, "ln_1.bias", "ln_2.bias", "ln_f.bias") && !allZero(s) {
				o.FoldLN = false
				break
			}
		}
		o.CenterWriting = c.HasLN() && c.Untied && rowsCentred(p.slice("wte.weight"), C) &&
			(c.Positional != PosStandard || rowsCentred(p.slice("wpe.weight"), C))
		for l := 0; l < c.NLayers && o.CenterWriting; l++ {
			w := p.layer(l)
			o.CenterWriting = rowsCentred(w.projW, C) && rowsCentred(w.projB, C) &&
				(c.AttnOnly || rowsCentred(w.fcProjW, C) && rowsCentred(w.fcPrB, C))
		}
	}
	if c.Untied {
		wu, bu := p.unembed(c)
		t := make([]float32, len(wu)) // W_U [C,V]: rows are lm_head's columns
		for v := 0; v < V; v++ {
			for j := 0; j < C; j++ {
				t[j*V+v] = wu[v*C+j]
			}
		}
		o.CenterUnembed = rowsCentred(t, V) && rowsCentred(bu, V)
	}
	o.FoldValueBiases = true
	off, n := c.qkvSplit(2)
	for l := 0; l < c.NLayers && !c.NoQKVBias; l++ {
		if !allZero(p.layer(l).attnB[off : off+n]) {
			o.FoldValueBiases = false
		}
	}
	return o
}

// rowsCentred reports whether every row of x [n,C] has a mean below 1e-5
// of its root-mean-square (an all-zero row counts as centred).
func rowsCentred(x []float32, C int) bool {
	for i := 0; i+C <= len(x); i += C {
		var sum, sq float64
		for _, v := range x[i : i+C] {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		mean, rms := sum/float64(C), math.Sqrt(sq/float64(C))
		if math.Abs(mean) > 1e-5*rms {
			return false
		}
	}
	return true
}

// LoadProcessed loads a checkpoint directory (see Load) and applies o.
// When a step needs the unembedding untied and the checkpoint ties it, the
// weights are read straight into the untied layout, so that peak memory
// stays near the size of the processed weights instead of holding the tied
// and untied buffers at once (GPT-2 small: 0.65 GB instead of 1.15 GB).
func LoadProcessed(dir string, o ProcessOptions) (*Model, error) {
	cfg, p, err := loadParamsDir(dir, o.FoldLN || o.CenterWriting || o.CenterUnembed)
	if err != nil {
		return nil, err
	}
	m, err := FromParams(cfg, p)
	if err != nil {
		return nil, err
	}
	if err := Process(m, o); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return m, nil
}
