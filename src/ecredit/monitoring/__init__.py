"""Big-data monitoring: detectors over the event lake, and the risk warnings they raise (DESIGN.md §5)."""
