//go:build unix

package repeated

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockRun takes an exclusive advisory lock on a run directory, so that two
// processes given the same run (a shard started twice, a job resubmitted
// while its first attempt still runs) never train it at once. The kernel
// drops the lock when the process dies, so a crash leaves nothing to clean
// up. It returns errBusy when another process holds the lock.
func lockRun(rd string) (unlock func(), err error) {
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(rd, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, fmt.Errorf("locking %s: %w", rd, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
