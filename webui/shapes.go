package webui

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultShape is the "Shape class" select's entry for no choice, as in
// Locust: the run goes as configured (a configured shape, or the form's
// user count and spawn rate).
const DefaultShape = "Default"

// ShapeChooser is implemented by a Controller whose scenario offers named
// load shapes (Locust's shape classes). With the class picker on, the
// start form shows them in a "Shape class" select and sends the choice as
// shape_class; StartRequest.Shape carries it to Start.
type ShapeChooser interface {
	// ShapeNames lists the offered shapes in the order the select shows
	// them (DefaultShape comes first, and is not among them).
	ShapeNames() []string
	// CurrentShape is the shape chosen for the current (or last) test,
	// "" for the default.
	CurrentShape() string
}

// shapeChooser returns the controller's ShapeChooser when the class
// picker is on and the scenario offers shapes.
func (s *Server) shapeChooser() (ShapeChooser, bool) {
	if !s.o.ClassPicker {
		return nil, false
	}
	sc, ok := s.o.Controller.(ShapeChooser)
	if !ok || len(sc.ShapeNames()) == 0 {
		return nil, false
	}
	return sc, true
}

// shapeNames lists the offered shapes, nil without a chooser.
func (s *Server) shapeNames() []string {
	sc, ok := s.shapeChooser()
	if !ok {
		return nil
	}
	return sc.ShapeNames()
}

// availableShapes is Locust's available_shape_classes: DefaultShape, then
// the offered shapes; empty when none is offered.
func availableShapes(names []string) []string {
	if len(names) == 0 {
		return []string{}
	}
	return append([]string{DefaultShape}, names...)
}

// parseShape reads shape_class: "" for none or DefaultShape, else one of
// shapes.
func parseShape(form url.Values, shapes []string) (string, *FieldError) {
	v := strings.TrimSpace(form.Get("shape_class"))
	if v == "" || v == DefaultShape {
		return "", nil
	}
	if !slices.Contains(shapes, v) {
		if len(shapes) == 0 {
			return "", &FieldError{Field: "shape_class", Message: "unknown shape " + strconv.Quote(truncate(v, 40)) + ": this scenario offers no shapes to choose (or the class picker is off); send " + strconv.Quote(DefaultShape) + " or nothing"}
		}
		return "", &FieldError{Field: "shape_class", Message: "unknown shape " + strconv.Quote(truncate(v, 40)) + "; valid shapes: " + strings.Join(availableShapes(shapes), ", ")}
	}
	return v, nil
}
