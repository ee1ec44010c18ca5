package scorehttp_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/scorehttp"
)

// Mount the handler on a debug server next to /metrics, and ask it for
// the worst peer and the bans. Here the router's traces are replayed by
// hand: one peer sends a message that fails validation, another a valid
// one first.
func Example() {
	params := &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{"blocks": {
			SkipAtomicValidation:           true,
			TopicWeight:                    1,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    0.5,
			FirstMessageDeliveriesCap:      10,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  0.5,
		}},
		DecayInterval: time.Second,
		DecayToZero:   0.01,
	}
	scorer, err := peerscore.New(params)
	if err != nil {
		log.Fatal(err)
	}
	gater := ban.NewGater() // the one given to libp2p.New, where a ban.Monitor bans peers

	spammer, _ := peer.Decode("12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5")
	honest, _ := peer.Decode("12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq")
	topic := "blocks"
	tr := scorer.Tracer()
	for i, p := range []peer.ID{spammer, honest} {
		tr.OnNewOutboundStream(p, "/meshsub/1.1.0")
		msg := &pubsub.Message{Message: &pb.Message{Topic: &topic}, ID: fmt.Sprint(i), ReceivedFrom: p}
		tr.ValidateMessage(msg)
		if p == spammer {
			tr.RejectMessage(msg, pubsub.RejectValidationFailed)
		} else {
			tr.DeliverMessage(msg)
		}
	}

	h, err := scorehttp.NewHandler(scorer, scorehttp.WithGater(gater))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/peerscore/", http.StripPrefix("/debug/peerscore", h))
	// mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	gater.Ban(spammer, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))

	base := srv.URL + "/debug/peerscore"
	for _, path := range []string{"/scores?limit=1", "/bans"} {
		resp, err := http.Get(base + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	resp, err := http.Get(base + "/peers/not-a-peer-id")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("GET /peers/not-a-peer-id:", resp.StatusCode)
	resp, err = http.Post(base+"/bans", "application/json", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("POST /bans:", resp.StatusCode, resp.Header.Get("Allow"))
	// Output:
	// GET /scores?limit=1: 200 {"data":[{"peer":"12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5","score":-100,"connected":true,"dominant":"P4 invalid messages","dominant_value":-100}],"total":2,"truncated":true}
	// GET /bans: 200 {"data":[{"peer":"12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5","until":"2100-01-01T00:00:00Z"}],"total":1,"truncated":false}
	// GET /peers/not-a-peer-id: 400
	// POST /bans: 405 GET, HEAD
}
