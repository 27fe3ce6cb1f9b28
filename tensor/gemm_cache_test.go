package tensor

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestParseCacheSize(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"2048K", 2 << 20}, {"1024K", 1 << 20}, {"48K", 48 << 10}, {"2M", 2 << 20},
		{"266240K", 266240 << 10}, {"4096", 4096}, {"", 0}, {"K", 0}, {"-4K", 0}, {"12Q", 0},
	} {
		if got := parseCacheSize(tc.s); got != tc.want {
			t.Errorf("parseCacheSize(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

// TestL2Bytes reads sysfs-like cache directories: the L2 is found among the
// L1 instruction and data caches and the L3, whatever their order.
func TestL2Bytes(t *testing.T) {
	write := func(dir string, caches [][3]string) {
		for i, c := range caches {
			d := filepath.Join(dir, "index"+string(rune('0'+i)))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for j, name := range []string{"level", "type", "size"} {
				if err := os.WriteFile(filepath.Join(d, name), []byte(c[j]+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	xeon, zen, none := t.TempDir(), t.TempDir(), t.TempDir()
	write(xeon, [][3]string{{"1", "Data", "48K"}, {"1", "Instruction", "32K"}, {"2", "Unified", "2048K"}, {"3", "Unified", "266240K"}})
	write(zen, [][3]string{{"3", "Unified", "32768K"}, {"1", "Data", "48K"}, {"2", "Instruction", "4096K"}, {"2", "Unified", "1024K"}})
	write(none, [][3]string{{"1", "Data", "32K"}, {"3", "Unified", "8192K"}})
	for _, tc := range []struct {
		dir      string
		l2, kc   int
		describe string
	}{
		{xeon, 2 << 20, gemmKCDeep, "Emerald Rapids"},
		{zen, 1 << 20, gemmKC, "Zen 5 (an instruction L2 listed first is skipped)"},
		{none, 0, gemmKC, "no L2"},
		{filepath.Join(none, "missing"), 0, gemmKC, "no directory"},
	} {
		l2 := l2Bytes(tc.dir)
		if l2 != tc.l2 {
			t.Errorf("%s: l2Bytes = %d, want %d", tc.describe, l2, tc.l2)
		}
		if kc := panelKC(l2); kc != tc.kc {
			t.Errorf("%s: panelKC(%d) = %d, want %d", tc.describe, l2, kc, tc.kc)
		}
	}
}

// TestGemmPathsEdgesPanelDepths reruns the edge products with gemmPanels'
// panels cut at each depth panelKC can choose, whichever this CPU's L2
// selects.
func TestGemmPathsEdgesPanelDepths(t *testing.T) {
	saved := gemmPanelKC
	defer func() { gemmPanelKC = saved }()
	for _, kc := range []int{gemmKC, gemmKCDeep} {
		gemmPanelKC = kc
		t.Run(fmt.Sprintf("kc%d", kc), TestGemmPathsEdges)
	}
}
