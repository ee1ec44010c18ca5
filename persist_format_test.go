package peerscore_test

// The state file's format (persist_format.go): Load refuses any damaged or
// ill-formed input and changes nothing, and takes a well-formed file on the
// current parameters' terms. Files are built by hand with persistSeal.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// persistSeal wraps a JSON body in a version-1 header and a valid checksum,
// to build files that pass the integrity check but not the content check.
func persistSeal(version, body string) []byte {
	covered := "peerscore-state " + version + "\n" + body + "\n"
	sum := sha256.Sum256([]byte(covered))
	return []byte(covered + "sha256 " + hex.EncodeToString(sum[:]) + "\n")
}

// TestPersistLoadMeetsCurrentParams checks that saved counters meet the new
// scorer's parameters: unscored topics dropped, caps applied, current
// weights used; and that a peer the scorer already knows keeps its live
// state.
func TestPersistLoadMeetsCurrentParams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		params.Topics["T"].FirstMessageDeliveriesCap = 10
		params.Topics["T"].MeshMessageDeliveriesCap = 5
		s := scoretest.New(t, params)
		s.Tracer().OnNewOutboundStream("live", "/meshsub/1.1.0")
		scoretest.DeliverN(s, "T", "l", "live", 2)
		liveBefore := scoretest.Snap(t, s, "live")

		expires := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
		body := fmt.Sprintf(`{"saved_at":"2000-01-01T00:00:00Z","peers":[`+
			`{"id":%q,"expires":%q,"topics":[`+
			`{"topic":"gone","first_message_deliveries":1,"mesh_message_deliveries":1,"mesh_failure_penalty":1,"invalid_message_deliveries":9},`+
			`{"topic":"T","first_message_deliveries":50,"mesh_message_deliveries":8,"mesh_failure_penalty":2,"invalid_message_deliveries":1}],`+
			`"behaviour_penalty":3,"slow_peer":4,"ips":["::ffff:192.0.2.7"]},`+
			`{"id":%q,"expires":%q,"behaviour_penalty":5}]}`,
			peer.ID("odd").String(), expires, peer.ID("live").String(), expires)
		require.NoError(t, s.Load(bytes.NewReader(persistSeal("v1", body))))

		snap := scoretest.Snap(t, s, "odd")
		require.Len(t, snap.Topics, 1, "topic gone is not scored")
		ts := snap.Topics["T"]
		require.Equal(t, 10.0, ts.FirstMessageDeliveries, "capped at 10")
		require.Equal(t, 5.0, ts.MeshMessageDeliveries, "capped at 5")
		require.Equal(t, 2.0, ts.MeshFailurePenalty)
		require.Equal(t, 1.0, ts.InvalidMessageDeliveries)
		require.Equal(t, 3.0, snap.BehaviourPenalty)
		require.Equal(t, 4.0, snap.SlowPeerCounter)
		require.Equal(t, []string{"192.0.2.7"}, snap.IPs, "addresses in the form the host gives")
		// P2 10, P3b -2, P4 -2, P7 -9; not in the mesh, so no P3.
		require.Equal(t, 10.0-2-2-9, snap.Score)
		require.Equal(t, snap.Score, s.Score("odd"))

		require.Equal(t, liveBefore, scoretest.Snap(t, s, "live"), "the live state wins")
	})
}

// TestPersistRejectsCorruptInput checks that every damaged input is
// rejected with ErrInvalidState and leaves the scorer exactly as it was:
// every truncation of a valid file, every flipped bit pattern in every
// byte, another version, garbage, nothing, and well-sealed files with bad
// contents.
func TestPersistRejectsCorruptInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		src := scoretest.New(t, params)
		for _, p := range []peer.ID{"a", "b", "c"} {
			src.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			scoretest.RejectN(src, "T", string(p), p, 2)
		}
		peerscore.SetIPsForTest(src, "a", []string{"2001:db8::1", "2001:db8::"})
		src.Tracer().OnClosedOutboundStream("c")
		valid := scoretest.Save(t, src)

		// The target has state of its own, live and retained.
		s := scoretest.New(t, params)
		s.Tracer().OnNewOutboundStream("live", "/meshsub/1.1.0")
		s.Tracer().OnNewOutboundStream("kept", "/meshsub/1.1.0")
		scoretest.RejectN(s, "U", "k", "kept", 1)
		s.Tracer().OnClosedOutboundStream("kept")
		before := s.Snapshots()
		require.Len(t, before, 2)

		reject := func(what string, input []byte) {
			t.Helper()
			err := s.Load(bytes.NewReader(input))
			require.Errorf(t, err, "%s should be rejected", what)
			require.ErrorIsf(t, err, peerscore.ErrInvalidState, "%s: %v", what, err)
			require.Equalf(t, before, s.Snapshots(), "%s changed the scorer", what)
		}

		for n := range len(valid) {
			reject(fmt.Sprintf("truncated to %d of %d bytes", n, len(valid)), valid[:n])
		}
		for i := range valid {
			for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
				bad := bytes.Clone(valid)
				bad[i] ^= mask
				reject(fmt.Sprintf("byte %d (%q) xor %#x", i, valid[i], mask), bad)
			}
		}
		body := string(valid[len("peerscore-state v1\n"):bytes.LastIndexByte(valid[:len(valid)-1], '\n')])
		body = strings.TrimSuffix(body, "\n")
		require.NoError(t, scoretest.New(t, params).Load(bytes.NewReader(persistSeal("v1", body))), "the resealed file is valid")

		upper := bytes.Clone(valid)
		copy(upper[len(upper)-65:], strings.ToUpper(string(upper[len(upper)-65:])))

		peerA := peer.ID("a").String()
		exp := `"expires":"2000-01-01T02:00:00Z"`
		cases := map[string][]byte{
			"empty":               {},
			"garbage":             []byte("\x00\x01 this is not a state file\n"),
			"just a header":       []byte("peerscore-state v1\n"),
			"version 2":           persistSeal("v2", body),
			"version 0":           persistSeal("v0", body),
			"trailing garbage":    append(bytes.Clone(valid), "more\n"...),
			"two files":           append(bytes.Clone(valid), valid...),
			"no final newline":    valid[:len(valid)-1],
			"uppercase checksum":  upper,
			"crc instead of sha":  []byte("peerscore-state v1\n{}\ncrc32 00000000\n"),
			"JSON array":          persistSeal("v1", `[]`),
			"JSON then more":      persistSeal("v1", `{"peers":[]} {}`),
			"unknown field":       persistSeal("v1", `{"peers":[],"extra":1}`),
			"unknown peer field":  persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"score":-5}]}`),
			"negative counter":    persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"behaviour_penalty":-1}]}`),
			"huge counter":        persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"slow_peer":1e400}]}`),
			"negative in topic":   persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"topics":[{"topic":"T","first_message_deliveries":0,"mesh_message_deliveries":0,"mesh_failure_penalty":0,"invalid_message_deliveries":-2}]}]}`),
			"NaN as string":       persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"slow_peer":"NaN"}]}`),
			"topic twice":         persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"topics":[{"topic":"T"},{"topic":"T"}]}]}`),
			"peer twice":          persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`},{"id":"`+peerA+`",`+exp+`}]}`),
			"no expiry":           persistSeal("v1", `{"peers":[{"id":"`+peerA+`"}]}`),
			"bad expiry":          persistSeal("v1", `{"peers":[{"id":"`+peerA+`","expires":"tomorrow"}]}`),
			"empty peer ID":       persistSeal("v1", `{"peers":[{"id":"",`+exp+`}]}`),
			"non-base58 peer ID":  persistSeal("v1", `{"peers":[{"id":"0OIl",`+exp+`}]}`),
			"long peer ID":        persistSeal("v1", `{"peers":[{"id":"`+strings.Repeat("z", 300)+`",`+exp+`}]}`),
			"bad address":         persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"ips":["192.0.2.300"]}]}`),
			"wrong checksum":      append(persistSeal("v1", body)[:len(persistSeal("v1", body))-3], "00\n"...),
			"checksum line short": []byte("peerscore-state v1\n{}\nsha256 abc\n"),
		}
		// A good peer before a bad one: nothing may be applied at all.
		cases["good then bad"] = persistSeal("v1", `{"peers":[{"id":"`+peer.ID("new").String()+`",`+
			`"expires":"2000-01-01T02:00:00Z"},{"id":"`+peerA+`",`+exp+`,"ips":["nowhere"]}]}`)
		for what, input := range cases {
			reject(what, input)
		}

		// A file over MaxStateSize is refused without being read whole.
		big := make([]byte, peerscore.MaxStateSizeForTest+1)
		copy(big, valid)
		reject("oversized", big)

		// Input that cannot be read is an I/O error, not an invalid state.
		err := s.Load(iotestErrReader{})
		require.Error(t, err)
		require.NotErrorIs(t, err, peerscore.ErrInvalidState)
		require.Equal(t, before, s.Snapshots())

		// And the valid file loads.
		require.NoError(t, s.Load(bytes.NewReader(valid)))
		require.Len(t, s.Snapshots(), 5)
		require.Equal(t, before["live"], scoretest.Snap(t, s, "live"))
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
