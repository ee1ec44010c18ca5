// Command attacklab runs the gossipsub v1.1 evaluation's attacks (eclipse,
// censorship, degradation, cold boot, covert flash, attack at dawn, IP
// colocation) against score parameters, with real go-libp2p hosts and
// GossipSub routers in simulated time, in three arms: peerscore,
// go-libp2p-pubsub's native scorer with the same parameters, and no
// scoring. It writes a markdown report with SVG plots.
//
//	go run ./cmd/attacklab                          # every scenario, small network, ~2 minutes
//	go run ./cmd/attacklab -scenario cold-boot -honest 1000 -sybil-scale 1
//	go run ./cmd/attacklab -preset ethereum
//	go run ./cmd/attacklab -params my-params.json   # as examples/params -format json prints
//
// The logic is in package attacklab.
package main

import (
	"os"

	"github.com/peerscore/peerscore/attacklab"
)

func main() {
	os.Exit(attacklab.Main(os.Args[1:], os.Stdout, os.Stderr))
}
