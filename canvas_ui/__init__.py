"""flowyard.canvas_ui"""
