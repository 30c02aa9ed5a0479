package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-dev/switchboard/host/internal/benchwork"
)

// BenchmarkDecodeObject decodes make bench's ticket work: the request
// body the host validates and the plugin's output it validates.
func BenchmarkDecodeObject(b *testing.B) {
	output, err := json.Marshal(benchwork.Ticket("C12345678", "high", "Card declined at checkout twice"))
	if err != nil {
		b.Fatal(err)
	}
	for name, doc := range map[string][]byte{"input": []byte(benchwork.Body), "output": output} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := DecodeObject(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
