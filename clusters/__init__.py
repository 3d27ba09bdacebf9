"""flowyard.clusters"""
