// Package atomicfile writes files and directories so that a reader, or a
// later run after a crash or an interrupt, sees either the previous version
// or the complete new one, never a part.
//
// A file is written to a temporary name in the same directory, synced,
// renamed over its final name, and the directory is synced; a directory is
// filled under a temporary sibling name, every file in it is synced, and it
// is renamed into place. Every writer of bytes to disk in this module goes
// through here, so there is one place to get this right.
package atomicfile
