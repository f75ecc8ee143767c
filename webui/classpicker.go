package webui

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// UserClass is one user class as the class picker shows and edits it
// (Locust's --class-picker and POST /user).
type UserClass struct {
	Name       string   `json:"name"`
	Weight     int      `json:"weight"`
	FixedCount int      `json:"fixed_count"`
	Host       string   `json:"host"`
	Tasks      []string `json:"tasks"`     // the tasks it runs
	AllTasks   []string `json:"all_tasks"` // every task it can run
}

// ClassEditor is implemented by a Controller whose classes can be edited
// in the class picker. The edits apply from the next start of a test (and
// reach the workers with it in distributed mode).
type ClassEditor interface {
	UserClasses() []UserClass
	// UpdateUserClass replaces the settings of class u.Name; a refused
	// value is a *FieldError naming the field.
	UpdateUserClass(u UserClass) error
}

// classEditor returns the controller's ClassEditor when the class picker
// is on.
func (s *Server) classEditor() (ClassEditor, bool) {
	if !s.o.ClassPicker {
		return nil, false
	}
	ed, ok := s.o.Controller.(ClassEditor)
	return ed, ok
}

// userClasses answers GET /user-classes: every class with its settings.
func (s *Server) userClasses(w http.ResponseWriter, r *http.Request) {
	ed, ok := s.classEditor()
	if !ok {
		http.NotFound(w, r)
		return
	}
	classes := ed.UserClasses()
	if classes == nil {
		classes = []UserClass{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_classes": classes})
}

// updateUser answers POST /user, Locust's per-class edit: a JSON body
// {"user_class_name", "weight", "fixed_count", "host", "tasks"}.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	ed, ok := s.classEditor()
	if !ok {
		http.NotFound(w, r)
		return
	}
	var body struct {
		Name       string   `json:"user_class_name"`
		Weight     *int     `json:"weight"`
		FixedCount *int     `json:"fixed_count"`
		Host       *string  `json:"host"`
		Tasks      []string `json:"tasks"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false,
			"message": "want a JSON object {user_class_name, weight, fixed_count, host, tasks}: " + err.Error()})
		return
	}
	classes := ed.UserClasses()
	i := slices.IndexFunc(classes, func(c UserClass) bool { return c.Name == body.Name })
	if i < 0 {
		names := make([]string, len(classes))
		for j, c := range classes {
			names[j] = c.Name
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "field": "user_class_name",
			"message": "unknown user class " + jsonQuote(body.Name) + ": choose from " + strings.Join(names, ", ")})
		return
	}
	u := classes[i] // fields not sent keep their value
	if body.Weight != nil {
		u.Weight = *body.Weight
	}
	if body.FixedCount != nil {
		u.FixedCount = *body.FixedCount
	}
	if body.Host != nil {
		h, ferr := parseHost(*body.Host)
		if ferr != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "field": "host", "message": ferr.Error()})
			return
		}
		u.Host = h
	}
	if body.Tasks != nil {
		u.Tasks = body.Tasks
	}
	if err := ed.UpdateUserClass(u); err != nil {
		ans := map[string]any{"success": false, "message": err.Error()}
		code := http.StatusInternalServerError
		var fe *FieldError
		switch {
		case errors.As(err, &fe):
			ans["field"], ans["message"] = fe.Field, fe.Message
			code = http.StatusBadRequest
		case errors.Is(err, ErrInvalid):
			code = http.StatusBadRequest
		}
		writeJSON(w, code, ans)
		return
	}
	for _, c := range ed.UserClasses() {
		if c.Name == u.Name {
			u = c
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "user_class": u})
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
