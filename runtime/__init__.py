"""flowyard.runtime"""
