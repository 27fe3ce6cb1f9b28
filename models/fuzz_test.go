package models

import "testing"

// FuzzUnmarshalHFConfig: whatever config.json holds, UnmarshalHFConfig either refuses it
// or returns a config that validates, whose layout builds and which survives a round trip
// through MarshalHFConfig; it never panics. Seeds are in testdata/fuzz/FuzzUnmarshalHFConfig
// (GPT-2's config, sizes that once wrapped n_head·d_head to 0, absurd layer counts);
// `go test -fuzz FuzzUnmarshalHFConfig ./models` explores further.
func FuzzUnmarshalHFConfig(f *testing.F) {
	f.Add([]byte(hfGPT2Config))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := UnmarshalHFConfig(b)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		if n := paramCount(cfg); n <= 0 || n > MaxParams {
			t.Fatalf("accepted a config of %d parameters", n)
		}
		out, err := MarshalHFConfig(cfg)
		if err != nil {
			t.Fatalf("MarshalHFConfig of an accepted config: %v", err)
		}
		back, err := UnmarshalHFConfig(out)
		if err != nil {
			t.Fatalf("config.json written for an accepted config does not load: %v\n%s", err, out)
		}
		if back.WithDefaults() != cfg.WithDefaults() {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, back)
		}
	})
}
