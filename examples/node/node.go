package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/derive"
	"github.com/peerscore/peerscore/dsstore"
	"github.com/peerscore/peerscore/metrics"
	"github.com/peerscore/peerscore/rank"
	"github.com/peerscore/peerscore/reputation"
	"github.com/peerscore/peerscore/scorehttp"
)

// topicName is the node's one topic; a real node has its own.
const topicName = "/example/blocks/1"

// config is what a node is started with.
type config struct {
	dir    string        // its identity key and its LevelDB datastore
	listen string        // the libp2p address it accepts connections on
	debug  string        // the address of its /metrics and /debug/peerscore/
	check  time.Duration // the ban monitor's check interval
	save   time.Duration // how often the datastore gets the peer state
	logger *slog.Logger
}

// node is the whole kit on one libp2p host. Its fields are in the order
// start builds them; stop takes them down in an order of its own.
type node struct {
	logger  *slog.Logger
	ds      *leveldb.Datastore
	gater   *ban.Gater
	host    host.Host
	rep     *reputation.Reputation
	scorer  *peerscore.Scorer
	store   *dsstore.Store
	stopPS  context.CancelFunc // the router's context
	router  *pubsub.PubSub
	topic   *pubsub.Topic
	monitor *ban.Monitor
	tagger  *rank.Tagger
	debug   *http.Server

	Addr      ma.Multiaddr // where it accepts connections, with /p2p/<id>
	DebugAddr string       // host:port of /metrics and /debug/peerscore/
}

// start builds and starts the node in the order that keeps a banned peer
// out from the first connection:
//
//  1. The datastore, the gater and a host built with the gater but
//     listening nowhere (libp2p.NoListenAddrs): libp2p.New otherwise
//     listens at once, before the saved bans are loaded, and the scorer
//     needs the host (peerscore.WithHost) before it can load anything.
//  2. The reputation and the scorer, then the saved state: scores, bans
//     and reputations, from the datastore into all three.
//  3. The loops (decay, periodic writes), the router, the monitor, the
//     tagger and the debug endpoints.
//  4. Only then h.Network().Listen: the first peer to connect meets the
//     restored bans and scores.
//
// On an error, what was started is stopped again.
func start(ctx context.Context, cfg config) (n *node, err error) {
	n = &node{logger: cfg.logger}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.stop())
			n = nil
		}
	}()
	if err = n.buildHost(cfg); err != nil {
		return n, err
	}
	params, err := n.buildScoring()
	if err != nil {
		return n, err
	}
	n.store, err = dsstore.New(n.ds, n.scorer, n.gater, dsstore.WithReputation(n.rep),
		dsstore.WithInterval(cfg.save), dsstore.WithLogger(n.logger))
	if err != nil {
		return n, err
	}
	if err := n.store.Load(ctx); err != nil { // before the host listens
		n.logger.Warn("starting without some saved peer state", "err", err) // and carry on
	}
	n.rep.Start(ctx)
	n.scorer.Start(ctx)
	n.store.Start(ctx)
	if err = n.startRouter(ctx); err != nil {
		return n, err
	}
	if err = n.startKeepers(ctx, cfg, params); err != nil {
		return n, err
	}
	if err = n.serveDebug(cfg.debug); err != nil {
		return n, err
	}
	if err = n.host.Network().Listen(ma.StringCast(cfg.listen)); err != nil {
		return n, err
	}
	n.Addr = n.host.Addrs()[0].Encapsulate(ma.StringCast("/p2p/" + n.host.ID().String()))
	return n, nil
}

// buildHost opens the datastore and builds the gater and a host that does
// not listen yet.
func (n *node) buildHost(cfg config) error {
	key, err := identity(filepath.Join(cfg.dir, "identity.key"))
	if err != nil {
		return err
	}
	if n.ds, err = leveldb.NewDatastore(filepath.Join(cfg.dir, "peerstate"), nil); err != nil {
		return err
	}
	n.gater = ban.NewGater(ban.WithGaterLogger(n.logger))
	cm, err := connmgr.NewConnManager(64, 96) // the tagger's tags decide whom a trim drops
	if err != nil {
		return err
	}
	n.host, err = libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs,
		libp2p.ConnectionGater(n.gater), libp2p.ConnectionManager(cm))
	return err
}

// buildScoring builds the reputation and the scorer, on parameters derived
// from the topic's expected traffic, and returns the parameters.
func (n *node) buildScoring() (*peerscore.Params, error) {
	var err error
	n.rep, err = reputation.New(reputation.WithFreeze(-50, 12*time.Hour), reputation.WithLogger(n.logger))
	if err != nil {
		return nil, err
	}
	params, thresholds, err := derive.Params(map[string]derive.Topic{topicName: {
		Weight: 1, MessagesPerInterval: 1, MeshDegree: 6,
		FirstDeliveriesDecay: time.Minute, InvalidDeliveriesDecay: time.Hour,
	}}, derive.Budget{}) // the zero Budget: an hour's RetainScore, Ethereum's thresholds
	if err != nil {
		return nil, err
	}
	params.AppSpecificScore = n.rep.Score
	params.AppSpecificWeight = thresholds.GraylistThreshold / -50 // a reputation below -50: graylisted
	n.scorer, err = peerscore.New(params, peerscore.WithHost(n.host), peerscore.WithThresholds(thresholds),
		peerscore.WithLogger(n.logger), peerscore.WithAppReasons(n.rep.Reasons),
		peerscore.WithThresholdEvents(func(e peerscore.ThresholdEvent) {
			n.logger.Info("score crossing", "peer", e.Peer, "threshold", e.Threshold, "down", e.Down,
				"old", e.Old, "new", e.New, "reason", e.Reason)
		}))
	return params, err
}

// startRouter starts a GossipSub router scoring with the scorer, and joins
// the topic, whose validator reports invalid messages to the reputation.
func (n *node) startRouter(ctx context.Context) error {
	opts, err := n.scorer.GossipSubOptions()
	if err != nil {
		return err
	}
	psCtx, cancel := context.WithCancel(ctx)
	n.stopPS = cancel
	if n.router, err = pubsub.NewGossipSub(psCtx, n.host, opts...); err != nil {
		return err
	}
	err = n.router.RegisterTopicValidator(topicName, func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if !valid(m.Data) {
			n.rep.Report(from, reputation.High, "invalid block")
			return pubsub.ValidationReject
		}
		return pubsub.ValidationAccept
	})
	if err != nil {
		return err
	}
	if n.topic, err = n.router.Join(topicName); err != nil {
		return err
	}
	_, err = n.topic.Subscribe()
	return err
}

// startKeepers starts the ban monitor and the connection-manager tagger.
func (n *node) startKeepers(ctx context.Context, cfg config, params *peerscore.Params) error {
	protected := func(p peer.ID) bool { return n.host.ConnManager().IsProtected(p, "") }
	var err error
	n.monitor, err = ban.NewMonitor(n.host, n.scorer, n.gater, // bans below the graylist threshold
		ban.WithBanForRetainScore(params.RetainScore), ban.WithProtected(protected),
		ban.WithCheckInterval(cfg.check), ban.WithLogger(n.logger))
	if err != nil {
		return err
	}
	n.monitor.Start(ctx)
	if n.tagger, err = rank.NewTagger(n.host, n.scorer, rank.WithLogger(n.logger)); err != nil {
		return err
	}
	n.tagger.Start(ctx)
	return nil
}

// serveDebug serves Prometheus metrics and the scorer's JSON views on
// addr, for operators only: snapshots show peers' addresses.
func (n *node) serveDebug(addr string) error {
	collector, err := metrics.New(n.scorer, metrics.WithGater(n.gater), metrics.WithReputation(n.rep))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector); err != nil {
		return err
	}
	views, err := scorehttp.NewHandler(n.scorer, scorehttp.WithGater(n.gater))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/peerscore/", http.StripPrefix("/debug/peerscore", views))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	n.DebugAddr = ln.Addr().String()
	n.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go n.debug.Serve(ln)
	return nil
}

// stop takes the node down, each part after what depends on it: no more
// bans or tags, then no more peers, then the final write of the peer
// state, and only then the datastore. It is safe on a node start left
// half built.
func (n *node) stop() error {
	var errs []error
	if n.debug != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, n.debug.Shutdown(ctx))
		cancel()
	}
	if n.monitor != nil {
		errs = append(errs, n.monitor.Close())
	}
	if n.tagger != nil {
		errs = append(errs, n.tagger.Close())
	}
	if n.stopPS != nil {
		n.stopPS()
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	// The last write: what happened up to the last connection is kept. It
	// reads the scorer, the gater and the reputation, and needs the
	// datastore open.
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.scorer != nil {
		errs = append(errs, n.scorer.Close())
	}
	if n.rep != nil {
		errs = append(errs, n.rep.Close())
	}
	if n.ds != nil {
		errs = append(errs, n.ds.Close())
	}
	return errors.Join(errs...)
}

// valid is the node's validation rule: here, a message must not start
// with "bad". A real node checks a block or an attestation.
func valid(data []byte) bool { return !bytes.HasPrefix(data, []byte("bad")) }

// identity reads the node's private key from path, or makes one and
// saves it there: a node keeps its peer ID across restarts.
func identity(path string) (crypto.PrivKey, error) {
	if data, err := os.ReadFile(path); err == nil {
		return crypto.UnmarshalPrivateKey(data)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	data, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("saving the node's identity: %w", err)
	}
	return key, nil
}
