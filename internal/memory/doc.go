// Package memory compares the memory a piece of work is estimated to need
// with the machine's, so that a command given sizes that cannot fit refuses
// them with one line before allocating, instead of dying in the runtime's
// "out of memory" with a dump of every goroutine. The estimates belong to
// the packages that own the work (models.Config.ForwardBytes, TrainBytes);
// this package only knows the machine.
package memory
