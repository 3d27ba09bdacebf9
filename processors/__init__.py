"""flowyard.processors"""
