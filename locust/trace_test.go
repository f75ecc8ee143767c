package locust

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTraceparentFlagAndEnvironment(t *testing.T) {
	c := DefaultConfig()
	_, err := parseCommandLine(&c, nil, func(k string) (string, bool) {
		if k == "LOCUST_TRACEPARENT" {
			return "true", true
		}
		return "", false
	})
	require.NoError(t, err)
	assert.True(t, c.Traceparent)
	c = DefaultConfig()
	_, err = parseCommandLine(&c, []string{"--traceparent"}, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	assert.True(t, c.Traceparent)
	c = DefaultConfig()
	_, err = parseCommandLine(&c, nil, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	assert.False(t, c.Traceparent)
}
