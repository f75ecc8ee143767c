// Package selection parses what a run is aimed at and what it runs: the
// target host (-H/--host, a class's Host, the web form's host, the class
// picker's host), the user classes picked by name (positional arguments,
// LOCUST_USER_CLASSES, the web form's user_classes, Config.Classes) and the
// tasks kept by tag (-T/--tags, -E/--exclude-tags, Config.Tags, the tags a
// master sends its workers). Each input has one parser here, so that a
// value accepted in one place is accepted everywhere, normalised the same
// way, and refused with the same words.
//
// The package imports nothing of golocust's: the tag filter is generic over
// the runner's class type, so that webui, runner and locust can all use it
// without an import against the flow DESIGN.md draws.
package selection
