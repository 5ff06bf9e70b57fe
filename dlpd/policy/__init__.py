"""Policy: what detections mean (labels) and, later, where labelled data may live."""
