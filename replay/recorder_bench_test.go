package replay_test

import (
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"

	"github.com/peerscore/peerscore/internal/pubsubrpc"
	"github.com/peerscore/peerscore/replay"
)

// BenchmarkRecorder is the Recorder's cost per event, for the events a
// node sees most (per message and peer: an RPC carrying it, a duplicate,
// and per message a validation and a delivery): ns/op is the router's
// side and the writer's together (Close waits for the writer), as
// process CPU; allocs/op are the router's side's.
func BenchmarkRecorder(b *testing.B) {
	from := testPeer(1)
	topic := "/eth2/00000000/beacon_attestation_1/ssz_snappy"
	m := &pb.Message{From: []byte(from), Seqno: []byte{0, 0, 0, 0, 0, 0, 0, 1}, Data: make([]byte, 256), Topic: &topic}
	msg := &pubsub.Message{Message: m, ID: string(from) + "00000001", ReceivedFrom: from}
	rpc := pubsubrpc.New(&pb.RPC{Publish: []*pb.Message{m}}, from)
	for _, c := range []struct {
		name string
		call func(r *replay.Recorder)
	}{
		{"RecvRPC", func(r *replay.Recorder) { r.RecvRPC(rpc) }},
		{"SendRPC", func(r *replay.Recorder) { r.SendRPC(rpc, from) }},
		{"DuplicateMessage", func(r *replay.Recorder) { r.DuplicateMessage(msg) }},
		{"ValidateMessage", func(r *replay.Recorder) { r.ValidateMessage(msg) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, err := replay.NewRecorder(b.TempDir(), testPeer(0), replay.WithBufferSize(256<<20))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPU()
			start := time.Now()
			for b.Loop() {
				c.call(r)
			}
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			elapsed, cpu := time.Since(start), processCPU()-cpu
			st := r.Stats()
			if st.Dropped != 0 {
				b.Fatalf("%d dropped", st.Dropped)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "wall-ns/op")
			b.ReportMetric(float64(st.Bytes)/float64(b.N), "B/event")
		})
	}
}
