package rank_test

import (
	"cmp"
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/peerscore/peerscore/rank"
)

// A node picks the two best peers to sync from, among those that are not
// behind it.
func ExampleBest() {
	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	if err != nil {
		log.Fatal(err)
	}
	name := map[peer.ID]string{}
	score := map[string]float64{"alice": 12.5, "bob": -3, "carol": 40, "dave": 7}
	behind := map[string]bool{"carol": true}
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		p, err := mn.GenPeer()
		if err != nil {
			log.Fatal(err)
		}
		name[p.ID()] = n
	}
	if err := mn.LinkAll(); err != nil {
		log.Fatal(err)
	}
	if err := mn.ConnectAllButSelf(); err != nil {
		log.Fatal(err)
	}

	// Any Scorer will do: a *peerscore.Scorer, or a function.
	scorer := rank.ScoreFunc(func(p peer.ID) float64 { return score[name[p]] })
	notBehind := func(p peer.ID) bool { return !behind[name[p]] }

	for _, p := range rank.Best(h, scorer, 2, notBehind) {
		fmt.Println(name[p], score[name[p]])
	}
	// Output:
	// alice 12.5
	// dave 7
}

// A node at its connection limit keeps its best peers: the Tagger tags
// each peer with its score, protects the best one and a static peer, and
// the connection manager trims the rest, lowest score first.
func ExampleTagger() {
	ctx := context.Background()
	// At most 10 connections; a trim goes down to 2 (not counting the
	// protected). No grace period, so that this example can trim at once.
	cm, err := connmgr.NewConnManager(2, 10, connmgr.WithGracePeriod(0))
	if err != nil {
		log.Fatal(err)
	}
	h := newHost(libp2p.ConnectionManager(cm))
	defer h.Close()

	name := map[peer.ID]string{}
	score := map[string]float64{"alice": 40, "bob": 3, "carol": 12, "dave": -20, "erin": -80, "static": -100}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "static"} {
		p := newHost()
		defer p.Close()
		if err := h.Connect(ctx, peer.AddrInfo{ID: p.ID(), Addrs: p.Addrs()}); err != nil {
			log.Fatal(err)
		}
		name[p.ID()] = n
	}

	scorer := rank.ScoreFunc(func(p peer.ID) float64 { return score[name[p]] })
	tagger, err := rank.NewTagger(h, scorer,
		rank.WithProtectBest(1),
		rank.WithProtected(func(p peer.ID) bool { return name[p] == "static" }),
	)
	if err != nil {
		log.Fatal(err)
	}
	tagger.Start(ctx) // re-tags every 10 seconds
	defer tagger.Close()
	tagger.Refresh() // tag now, for the example

	for _, p := range sortedByName(h.Network().Peers(), name) {
		fmt.Printf("%-6s tag %4d  protected %v\n", name[p], cm.GetTagInfo(p).Tags["peerscore"], cm.IsProtected(p, "peerscore"))
	}
	cm.TrimOpenConns(ctx)
	var kept []string
	for _, p := range sortedByName(h.Network().Peers(), name) {
		if h.Network().Connectedness(p) == network.Connected {
			kept = append(kept, name[p])
		}
	}
	fmt.Println("kept:", kept)
	// Output:
	// alice  tag   40  protected true
	// bob    tag    3  protected false
	// carol  tag   12  protected false
	// dave   tag  -20  protected false
	// erin   tag  -80  protected false
	// static tag -100  protected true
	// kept: [alice bob carol static]
}

// newHost returns a host listening on a local TCP port.
func newHost(opts ...libp2p.Option) host.Host {
	h, err := libp2p.New(append([]libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")}, opts...)...)
	if err != nil {
		log.Fatal(err)
	}
	return h
}

// sortedByName returns peers sorted by their names.
func sortedByName(peers []peer.ID, name map[peer.ID]string) []peer.ID {
	return slices.SortedFunc(slices.Values(peers), func(a, b peer.ID) int { return cmp.Compare(name[a], name[b]) })
}
