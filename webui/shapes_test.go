package webui

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shapeFake offers named shapes (a ShapeChooser).
type shapeFake struct {
	*fakeCtl
	shapes []string
}

func (f *shapeFake) ShapeNames() []string { return f.shapes }

func (f *shapeFake) CurrentShape() string {
	req, n := f.lastStart()
	if n == 0 {
		return ""
	}
	return req.Shape
}

func TestParseShapeClass(t *testing.T) {
	shapes := []string{"ramp", "spike"}
	for _, c := range []struct {
		name   string
		form   url.Values
		shapes []string
		want   StartRequest
		field  string
		msg    string
	}{
		{"a shape needs no user count", url.Values{"shape_class": {"spike"}}, shapes, StartRequest{Shape: "spike", SpawnRate: 1}, "", ""},
		{"a shape with the hidden fields", url.Values{"shape_class": {" ramp "}, "user_count": {"7"}, "spawn_rate": {"2"}}, shapes,
			StartRequest{Shape: "ramp", Users: 7, SpawnRate: 2}, "", ""},
		{"the fields are checked when sent", url.Values{"shape_class": {"ramp"}, "user_count": {"-1"}}, shapes, StartRequest{}, "user_count", "must not be negative"},
		{"Default is no shape", url.Values{"shape_class": {"Default"}, "user_count": {"3"}, "spawn_rate": {"1"}}, shapes, StartRequest{Users: 3, SpawnRate: 1}, "", ""},
		{"Default needs the user count", url.Values{"shape_class": {"Default"}}, shapes, StartRequest{}, "user_count", "is required"},
		{"empty is Default", url.Values{"shape_class": {""}, "user_count": {"3"}, "spawn_rate": {"1"}}, shapes, StartRequest{Users: 3, SpawnRate: 1}, "", ""},
		{"unknown shape", url.Values{"shape_class": {"ramp2"}}, shapes, StartRequest{}, "shape_class", `unknown shape "ramp2"; valid shapes: Default, ramp, spike`},
		{"case matters", url.Values{"shape_class": {"Ramp"}}, shapes, StartRequest{}, "shape_class", `unknown shape "Ramp"`},
		{"no shapes offered", url.Values{"shape_class": {"ramp"}}, nil, StartRequest{}, "shape_class", `this scenario offers no shapes to choose (or the class picker is off); send "Default" or nothing`},
		{"Default with no shapes offered", url.Values{"shape_class": {"Default"}, "user_count": {"1"}, "spawn_rate": {"1"}}, nil, StartRequest{Users: 1, SpawnRate: 1}, "", ""},
	} {
		req, ferr := parseSwarm(c.form, nil, c.shapes, false)
		if c.field != "" {
			if assert.NotNil(t, ferr, c.name) {
				assert.Equal(t, c.field, ferr.Field, c.name)
				assert.Contains(t, ferr.Message, c.msg, c.name)
			}
			continue
		}
		if assert.Nil(t, ferr, c.name) {
			assert.Equal(t, c.want, req, c.name)
		}
	}
	// An edit of the running test reads no shape: it keeps the run's.
	req, ferr := parseSwarm(url.Values{"shape_class": {"nope"}, "user_count": {"2"}, "spawn_rate": {"1"}}, nil, shapes, true)
	require.Nil(t, ferr)
	assert.Equal(t, StartRequest{Users: 2, SpawnRate: 1}, req)
}

// POST /swarm passes the chosen shape to the controller and answers as
// Locust; GET /ui/config lists the shapes (with the class picker only)
// and /stats/requests tells which one drives the run.
func TestSwarmShapeClass(t *testing.T) {
	f := &shapeFake{fakeCtl: newFake(), shapes: []string{"ramp", "spike"}}
	shape := ""
	base, _ := startServer(t, Options{Controller: f, ClassPicker: true, LoadModel: func() LoadInfo {
		return LoadInfo{Model: "shape " + shape, ShapeDriven: shape != "", Shape: shape, DefaultModel: "", DefaultShapeDriven: false}
	}})
	resp, b := get(t, base+"/ui/config")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m := decode(t, b)
	assert.Equal(t, []any{"Default", "ramp", "spike"}, m["available_shape_classes"])
	assert.Equal(t, "", m["shape_class"])
	assert.Equal(t, false, m["default_shape_driven"])

	resp, b = do(t, "POST", base+"/swarm", url.Values{"shape_class": {"nope"}}, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
	m = decode(t, b)
	assert.Equal(t, "shape_class", m["field"])
	assert.Equal(t, `shape_class: unknown shape "nope"; valid shapes: Default, ramp, spike`, m["message"])
	_, n := f.lastStart()
	assert.Zero(t, n, "a refused shape never reaches the controller")

	resp, b = do(t, "POST", base+"/swarm", url.Values{"shape_class": {"spike"}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	m = decode(t, b)
	assert.Equal(t, "Swarming started using shape class 'spike'", m["message"])
	assert.Equal(t, "spike", m["shape_class"])
	req, n := f.lastStart()
	require.Equal(t, 1, n)
	assert.Equal(t, "spike", req.Shape)
	assert.Equal(t, "spike", startDetail(req)["shape_class"], "the audit log's start event names the shape")

	shape = "spike"
	resp, b = get(t, base+"/stats/requests")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	m = decode(t, b)
	assert.Equal(t, true, m["shape_driven"])
	assert.Equal(t, "spike", m["shape_class"])

	// Without the class picker the form has no select: the list is empty
	// and a named shape is refused.
	g := &shapeFake{fakeCtl: newFake(), shapes: []string{"ramp"}}
	base, _ = startServer(t, Options{Controller: g})
	resp, b = get(t, base+"/ui/config")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, []any{}, decode(t, b)["available_shape_classes"])
	resp, b = do(t, "POST", base+"/swarm", url.Values{"shape_class": {"ramp"}}, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
	assert.Equal(t, "shape_class", decode(t, b)["field"])
}
