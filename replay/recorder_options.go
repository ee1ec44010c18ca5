package replay

import (
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/peerscore/peerscore/internal/option"
)

// RecorderOption configures a Recorder (NewRecorder).
type RecorderOption func(*recorderConfig) error

// The Recorder's defaults.
const (
	// DefaultMaxFileSize is the size at which a pair of files is closed and
	// the next one begun (WithMaxFileSize).
	DefaultMaxFileSize = 64 << 20
	// DefaultMaxDiskSize bounds a recording's files in all
	// (WithMaxDiskSize).
	DefaultMaxDiskSize = 1 << 30
	// DefaultBufferSize bounds what waits for the writer (WithBufferSize):
	// at pubsub's trace record sizes, some 100,000 events, seconds of a
	// busy node's traffic.
	DefaultBufferSize = 16 << 20
	// DefaultFlushInterval is how often what was written is flushed to the
	// files (WithFlushInterval).
	DefaultFlushInterval = time.Second
	// DefaultAddrInterval is how often the addresses of the peers with an
	// open stream are read again (WithAddrInterval): once a minute, as
	// peerscore's Scorer does.
	DefaultAddrInterval = time.Minute
)

type recorderConfig struct {
	host        host.Host
	msgID       func(*pb.Message) string
	logger      *slog.Logger
	gzip        bool
	maxFile     int64
	maxDisk     int64
	buffer      int
	flushEvery  time.Duration
	addrEvery   time.Duration
	manualStart bool
	router      *RouterTimings

	beforeBatch func() // tests: holds the writer up
}

func defaultRecorderConfig() recorderConfig {
	return recorderConfig{
		msgID:      pubsub.DefaultMsgIdFn,
		logger:     slog.Default(),
		gzip:       true,
		maxFile:    DefaultMaxFileSize,
		maxDisk:    DefaultMaxDiskSize,
		buffer:     DefaultBufferSize,
		flushEvery: DefaultFlushInterval,
		addrEvery:  DefaultAddrInterval,
	}
}

// WithHost records the IP addresses of peers (KindAddrs) as the host
// reports them, the way peerscore's Scorer counts them for P6: when a
// peer's stream opens, and, for the peers with an open stream, every
// WithAddrInterval when they changed. Give it the host the Scorer has
// (peerscore.WithHost). Without it the recording has no addresses and a
// replay scores no IP colocation.
func WithHost(h host.Host) RecorderOption {
	return option.Check(h != nil, "WithHost: nil host", func(c *recorderConfig) { c.host = h })
}

// WithMsgIDFn is how the IDs of the messages inside RPCs are computed:
// the router's pubsub.WithMessageIdFn, which the Recorder cannot ask the
// router for (default pubsub.DefaultMsgIdFn). It runs on the router's
// goroutine for every message in every RPC, as pubsub's own tracers do.
// Message events (deliver, duplicate, reject, validate) carry the ID the
// router gave the message, and use fn only when it is empty.
func WithMsgIDFn(fn func(*pb.Message) string) RecorderOption {
	return option.Check(fn != nil, "WithMsgIDFn: nil function",
		func(c *recorderConfig) { c.msgID = fn })
}

// WithRecorderLogger is where the Recorder logs what goes wrong with its
// files. The default is slog.Default(), the logger the application chose
// as its default.
func WithRecorderLogger(l *slog.Logger) RecorderOption {
	return option.Check(l != nil, "WithRecorderLogger: nil logger",
		func(c *recorderConfig) { c.logger = l })
}

// WithoutGzip writes the files uncompressed (trace-NNNNNN.pb,
// extra-NNNNNN.jsonl). Compressed, pubsub's trace records take about a
// third of the space, at the cost of the writer's CPU (gzip's fastest
// level).
func WithoutGzip() RecorderOption {
	return func(c *recorderConfig) error {
		c.gzip = false
		return nil
	}
}

// WithMaxFileSize is the size (on disk, both files of a pair together) at
// which the Recorder closes a pair and begins the next (default
// DefaultMaxFileSize). It is also what the disk bound frees at a time.
func WithMaxFileSize(bytes int64) RecorderOption {
	return option.Check(bytes > 0, fmt.Sprintf("WithMaxFileSize: %d bytes", bytes),
		func(c *recorderConfig) { c.maxFile = bytes })
}

// WithMaxDiskSize bounds the recording's files in all (default
// DefaultMaxDiskSize): when they grow past it, the oldest pairs are
// deleted, this Recorder's and those of earlier runs in the same
// directory alike. It must be at least WithMaxFileSize.
func WithMaxDiskSize(bytes int64) RecorderOption {
	return option.Check(bytes > 0, fmt.Sprintf("WithMaxDiskSize: %d bytes", bytes),
		func(c *recorderConfig) { c.maxDisk = bytes })
}

// WithBufferSize bounds, in bytes (estimated), the events waiting for the
// writer (default DefaultBufferSize). When the buffer is full, an event is
// dropped and counted (RecorderStats.Dropped): the router is never made to
// wait.
func WithBufferSize(bytes int) RecorderOption {
	return option.Check(bytes > 0, fmt.Sprintf("WithBufferSize: %d bytes", bytes),
		func(c *recorderConfig) { c.buffer = bytes })
}

// WithFlushInterval is how often what was written reaches the files
// (default DefaultFlushInterval): what a crash can lose, and how far
// behind a reader of a live recording is.
func WithFlushInterval(d time.Duration) RecorderOption {
	return option.Check(d > 0, fmt.Sprintf("WithFlushInterval: %v", d),
		func(c *recorderConfig) { c.flushEvery = d })
}

// WithAddrInterval is how often the addresses of the peers with an open
// stream are read again (default DefaultAddrInterval, as the Scorer).
func WithAddrInterval(d time.Duration) RecorderOption {
	return option.Check(d > 0, fmt.Sprintf("WithAddrInterval: %v", d),
		func(c *recorderConfig) { c.addrEvery = d })
}

// WithManualStart leaves the recording's start extra to Recorder.Start
// instead of NewRecorder: for a node that creates the Recorder before it
// starts its Scorer.
func WithManualStart() RecorderOption {
	return func(c *recorderConfig) error {
		c.manualStart = true
		return nil
	}
}

// WithGossipSubParams records the router's timings in the start extra
// (RouterTimings): give it the parameters the router runs with, as given
// to the Scorer (peerscore.WithGossipSubParams), so that a replay charges
// broken promises at the router's heartbeats. Without it a replay assumes
// pubsub's defaults.
func WithGossipSubParams(gp pubsub.GossipSubParams) RecorderOption {
	return option.Check(gp.HeartbeatInterval > 0 && gp.IWantFollowupTime > 0 && gp.PruneBackoff > 0,
		"WithGossipSubParams: HeartbeatInterval, IWantFollowupTime and PruneBackoff must be positive",
		func(c *recorderConfig) { c.router = timingsOf(gp) })
}
