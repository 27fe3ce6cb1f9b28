package circuits

import (
	"fmt"

	"github.com/mechinterp/mechinterp/models"
)

// NodeKind says what a node of a Graph is.
type NodeKind string

// The kinds of node.
const (
	NodeInput  NodeKind = "input"  // the embeddings: blocks.0.hook_resid_pre
	NodeHead   NodeKind = "head"   // one attention head: its slice of attn.hook_result
	NodeMLP    NodeKind = "mlp"    // one MLP: hook_mlp_out
	NodeLogits NodeKind = "logits" // the unembedding, reading the final residual stream
)

// Node is one component of a Graph.
type Node struct {
	Name  string   `json:"name"` // "input", "L1H2", "MLP0", "logits"
	Kind  NodeKind `json:"kind"`
	Layer int      `json:"layer"` // -1 for the input, n_layers for the logits
	Head  int      `json:"head"`  // -1 unless a head
}

// Edge is one upstream node's output entering one downstream node's input
// through the residual stream; a head has three inputs (q, k, v), each its
// own edge.
type Edge struct {
	From  int    `json:"from"`            // index into Graph.Nodes
	To    int    `json:"to"`              // index into Graph.Nodes
	Input string `json:"input,omitempty"` // "q", "k" or "v" into a head, else empty
	// sender and receiver index the activations that carry the edge.
	sender, receiver int
}

// Graph is the computational graph of edge attribution patching (Syed et
// al. 2023; Hanna et al. 2024) for a model: nodes are the input embeddings,
// every head, every MLP and the logits; an edge joins every node to every
// input of every node after it (a head's query, key and value inputs count
// separately, an MLP reads the heads of its own layer unless the block runs
// attention and MLP in parallel). Patching an edge
// changes what one node reads from one upstream node and nothing else, which
// the split inputs (models.Options.SplitInputs) make possible.
type Graph struct {
	Config models.Config `json:"-"`
	Nodes  []Node        `json:"nodes"` // input, then each layer's heads and MLP, then the logits
	Edges  []Edge        `json:"edges"` // grouped by downstream input, in forward order
	// senders[s] is the node whose output is sender slot s (input, heads,
	// MLPs in forward order); receivers[r] the node and input of receiver
	// slot r (each layer's q, k, v inputs head by head, its MLP, the logits).
	senders   []int
	receivers []receiver
	edgeAt    []int // [sender*len(receivers)+receiver] edge index, or -1
}

type receiver struct {
	node  int
	input string
	// before is the number of sender slots upstream of this input.
	before int
}

// NewGraph returns the graph of a model with this config.
func NewGraph(c models.Config) *Graph {
	c = c.WithDefaults()
	L, H := c.NLayers, c.NHeads
	g := &Graph{Config: c}
	add := func(n Node) int {
		g.Nodes = append(g.Nodes, n)
		return len(g.Nodes) - 1
	}
	g.senders = append(g.senders, add(Node{Name: "input", Kind: NodeInput, Layer: -1, Head: -1}))
	for l := 0; l < L; l++ {
		before := len(g.senders)
		heads := make([]int, H)
		for h := range heads {
			heads[h] = add(Node{Name: models.Head{Layer: l, Head: h}.String(), Kind: NodeHead, Layer: l, Head: h})
		}
		for _, in := range []string{"q", "k", "v"} {
			for h := range heads {
				g.receivers = append(g.receivers, receiver{node: heads[h], input: in, before: before})
			}
		}
		g.senders = append(g.senders, heads...)
		if !c.AttnOnly {
			mlp := add(Node{Name: fmt.Sprintf("MLP%d", l), Kind: NodeMLP, Layer: l, Head: -1})
			// A parallel block's MLP reads resid_pre, as its heads do.
			mlpBefore := len(g.senders)
			if c.ParallelAttnMLP {
				mlpBefore = before
			}
			g.receivers = append(g.receivers, receiver{node: mlp, before: mlpBefore})
			g.senders = append(g.senders, mlp)
		}
	}
	logits := add(Node{Name: "logits", Kind: NodeLogits, Layer: L, Head: -1})
	g.receivers = append(g.receivers, receiver{node: logits, before: len(g.senders)})
	g.edgeAt = make([]int, len(g.senders)*len(g.receivers))
	for i := range g.edgeAt {
		g.edgeAt[i] = -1
	}
	for r, rc := range g.receivers {
		for s := 0; s < rc.before; s++ {
			g.edgeAt[s*len(g.receivers)+r] = len(g.Edges)
			g.Edges = append(g.Edges, Edge{From: g.senders[s], To: rc.node, Input: rc.input, sender: s, receiver: r})
		}
	}
	return g
}

// EdgeName names edge i as "L0H1 -> L1H2.k", "input -> logits".
func (g *Graph) EdgeName(i int) string {
	e := g.Edges[i]
	to := g.Nodes[e.To].Name
	if e.Input != "" {
		to += "." + e.Input
	}
	return g.Nodes[e.From].Name + " -> " + to
}

// FindEdge returns the index of the edge named as EdgeName names it, or -1.
func (g *Graph) FindEdge(name string) int {
	for i := range g.Edges {
		if g.EdgeName(i) == name {
			return i
		}
	}
	return -1
}

// layerReceivers returns the first receiver slot of layer l's head inputs,
// and of its MLP input (-1 in attention-only models).
func (g *Graph) layerReceivers(l int) (qkv, mlp int) {
	per := 3 * g.Config.NHeads
	if !g.Config.AttnOnly {
		per++
	}
	qkv = l * per
	if g.Config.AttnOnly {
		return qkv, -1
	}
	return qkv, qkv + 3*g.Config.NHeads
}

// senderSlot returns the sender slot of layer l's head h (h = -1: its MLP).
func (g *Graph) senderSlot(l, h int) int {
	per := g.Config.NHeads
	if !g.Config.AttnOnly {
		per++
	}
	if h < 0 {
		return 1 + l*per + g.Config.NHeads
	}
	return 1 + l*per + h
}

// Prune keeps the edges of keep that lie on a path from the input to the
// logits through kept edges, and returns how many it kept: an edge whose
// upstream node nothing kept feeds, or whose downstream node feeds nothing
// kept, cannot carry the circuit's signal.
func (g *Graph) Prune(keep []bool) int {
	fromInput := make([]bool, len(g.Nodes))
	toLogits := make([]bool, len(g.Nodes))
	fromInput[g.senders[0]] = true
	toLogits[len(g.Nodes)-1] = true
	// Edges are grouped by downstream input in forward order, so one pass
	// forward settles reachability from the input, one backward that to
	// the logits.
	for i, e := range g.Edges {
		if keep[i] && fromInput[e.From] {
			fromInput[e.To] = true
		}
	}
	for i := len(g.Edges) - 1; i >= 0; i-- {
		if e := g.Edges[i]; keep[i] && toLogits[e.To] {
			toLogits[e.From] = true
		}
	}
	n := 0
	for i, e := range g.Edges {
		keep[i] = keep[i] && fromInput[e.From] && toLogits[e.To]
		if keep[i] {
			n++
		}
	}
	return n
}
