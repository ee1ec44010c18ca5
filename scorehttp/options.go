package scorehttp

import (
	"log/slog"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/option"
)

// DefaultMaxPeers is how many entries GET /scores and GET /bans return at
// most unless WithMaxPeers says otherwise.
const DefaultMaxPeers = 1000

// Option configures a Handler in NewHandler.
type Option func(*config) error

type config struct {
	gater    *ban.Gater
	logger   *slog.Logger
	maxPeers int
}

func defaultConfig() config {
	return config{logger: slog.Default(), maxPeers: DefaultMaxPeers}
}

// WithGater serves GET /bans, the bans in force in g (the ban.Gater the
// host was built with, in which a ban.Monitor bans peers), and adds each
// peer's ban to GET /peers/{id}. Without it GET /bans answers 404.
func WithGater(g *ban.Gater) Option {
	return option.Check(g != nil, "WithGater: nil gater", func(c *config) { c.gater = g })
}

// WithLogger sets where the Handler logs: at Error, a response that could
// not be encoded (which would be a bug); at Debug, a response the client
// did not take (it went away). The default is slog.Default(), the logger
// the application chose as its default.
func WithLogger(l *slog.Logger) Option {
	return option.Check(l != nil, "WithLogger: nil logger", func(c *config) { c.logger = l })
}

// WithMaxPeers is the hard cap on the entries of GET /scores and GET
// /bans: their limit query parameter can ask for fewer, never for more, so
// that a response stays within about n × 200 bytes however many peers the
// scorer knows. n must be positive. The default is DefaultMaxPeers.
func WithMaxPeers(n int) Option {
	return option.Positive("WithMaxPeers", n, func(c *config) { c.maxPeers = n })
}
