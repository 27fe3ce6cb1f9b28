package seed

// golden is 2^64 divided by the golden ratio, SplitMix64's increment.
const golden = 0x9e3779b97f4a7c15

// Mix is the SplitMix64 finalizer (Stafford's variant 13): a bijection of
// uint64 in which each input bit flips each output bit with probability
// close to 1/2.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Derive returns the seed of stream (base, index, purpose): base is the
// user's seed, index numbers the instances of one purpose (an instance, a
// shard, an evaluation prompt set ...) and purpose names what the stream is
// for (e.g. "superposition/init"), so that two purposes never share a stream.
// For a fixed purpose and index, Derive is a bijection of base, and for a
// fixed base and purpose a bijection of index: distinct inputs never collide.
func Derive(base, index uint64, purpose string) uint64 {
	h := Mix(base + golden)
	h = Mix(h ^ (index + 0xd1b54a32d192ed03))
	return Mix(h ^ Mix(hashString(purpose)))
}

// hashString is 64-bit FNV-1a.
func hashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}
