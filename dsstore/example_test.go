package dsstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/dsstore"
)

// A node keeps its scorer's retained scores and its gater's bans in the
// datastore it already has; an in-memory one stands in for its LevelDB
// here. In the first run the router reports a peer breaking the protocol
// and an operator bans it; the node stops. The second run, with a new
// scorer and gater, loads both back before it accepts connections, so the
// peer does not come back with a clean slate.
func Example() {
	ctx := context.Background()
	ds := dssync.MutexWrap(datastore.NewMapDatastore())
	p, err := peer.Decode("12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN")
	if err != nil {
		log.Fatal(err)
	}

	// First run.
	scorer, gater := newNode()
	store, err := dsstore.New(ds, scorer, gater, dsstore.WithInterval(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Load(ctx); err != nil {
		log.Println("starting without some saved peer state:", err)
	}
	store.Start(ctx) // writes every 30 seconds: a crash loses at most that

	scorer.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0") // as the router does
	scorer.AddPenalty(p, 3)
	gater.Ban(p, time.Date(2099, time.January, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println("first run: score", scorer.Score(p))

	if err := store.Close(); err != nil { // a clean stop writes once more
		log.Fatal(err)
	}

	// Second run: new scorer and gater, the same datastore.
	scorer, gater = newNode()
	store, err = dsstore.New(ds, scorer, gater)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Load(ctx); err != nil {
		log.Println("starting without some saved peer state:", err)
	}
	until, banned := gater.Banned(p)
	fmt.Println("second run: score", scorer.Score(p), "banned", banned, "until", until.Format(time.DateOnly))

	res, err := ds.Query(ctx, query.Query{KeysOnly: true, Orders: []query.Order{query.OrderByKey{}}})
	if err != nil {
		log.Fatal(err)
	}
	all, err := res.Rest()
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range all {
		fmt.Println("key", e.Key)
	}
	// Output:
	// first run: score -9
	// second run: score -9 banned true until 2099-01-01
	// key /peerscore/bans
	// key /peerscore/scores
}

// newNode builds a scorer that counts only protocol violations (a peer
// with n of them scores -n²) and keeps a peer's score for an hour after
// it leaves, and an empty gater.
func newNode() (*peerscore.Scorer, *ban.Gater) {
	scorer, err := peerscore.New(&peerscore.Params{
		Topics:                 map[string]*peerscore.TopicParams{},
		AppSpecificScore:       func(peer.ID) float64 { return 0 },
		AppSpecificWeight:      1,
		BehaviourPenaltyWeight: -1,
		BehaviourPenaltyDecay:  0.5,
		DecayInterval:          time.Second,
		DecayToZero:            0.01,
		RetainScore:            time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	return scorer, ban.NewGater()
}
