package tensor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// gemmPanelKC is the deepest panel of gemmPanels' packed products:
// gemmKCDeep where this CPU's L2 holds gemmL2Deep bytes or more (the 2 MB
// L2 of a recent Xeon), else gemmKC (Zen 5's 1 MB L2, and wherever the
// size cannot be read). Tests set it to run every panel depth.
var gemmPanelKC = panelKC(l2Bytes(sysCacheDir))

// sysCacheDir describes cpu0's caches on Linux: one indexN directory per
// cache, each with level, type and size files.
const sysCacheDir = "/sys/devices/system/cpu/cpu0/cache"

// panelKC returns the panel depth for an L2 of l2 bytes (0 if unknown).
func panelKC(l2 int) int {
	if l2 >= gemmL2Deep {
		return gemmKCDeep
	}
	return gemmKC
}

// l2Bytes returns the size of the level-2 data or unified cache described
// under dir (see sysCacheDir), or 0 if there is none or it cannot be read
// (another OS, a container hiding /sys).
func l2Bytes(dir string) int {
	entries, err := filepath.Glob(filepath.Join(dir, "index*"))
	if err != nil {
		return 0
	}
	for _, e := range entries {
		if readSysString(filepath.Join(e, "level")) != "2" {
			continue
		}
		if t := readSysString(filepath.Join(e, "type")); t != "Unified" && t != "Data" {
			continue
		}
		if n := parseCacheSize(readSysString(filepath.Join(e, "size"))); n > 0 {
			return n
		}
	}
	return 0
}

func readSysString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// parseCacheSize parses a sysfs cache size ("2048K", "1M", or bytes),
// returning 0 for anything else.
func parseCacheSize(s string) int {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n * mult
}
