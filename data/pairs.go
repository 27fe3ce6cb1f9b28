package data

// Pairs reads a Source as a training loop consumes it: inputs and targets
// [B,T] (each row's tokens and the same row shifted by one), with the
// source's resume state. It satisfies train.Source.
type Pairs struct {
	src Source
	b   *Batch
}

// NewPairs wraps src.
func NewPairs(src Source) *Pairs { return &Pairs{src: src} }

// Next fills tok and tgt [B,T] from the next B rows of T+1 tokens.
func (p *Pairs) Next(tok, tgt []int, B, T int) error {
	if p.b == nil || p.b.B != B || p.b.T != T {
		p.b = NewBatch(B, T)
	}
	if err := p.src.Next(p.b); err != nil {
		return err
	}
	for i := range B {
		row := p.b.Row(i)
		copy(tok[i*T:(i+1)*T], row[:T])
		copy(tgt[i*T:(i+1)*T], row[1:])
	}
	return nil
}

// State returns the wrapped source's state.
func (p *Pairs) State() ([]byte, error) { return p.src.State() }

// Restore restores the wrapped source's state.
func (p *Pairs) Restore(state []byte) error { return p.src.Restore(state) }
