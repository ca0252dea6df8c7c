"""SMARD (Bundesnetzagentur | SMARD.de, CC BY 4.0): grid production and load for Germany."""
