"""The rule families of `bot validate`, one module each; every check returns `list[Problem]`.

- `nlu`: duplicate and conflicting examples, too few examples per language, intents missing from the domain;
- `slots`: slot types, values, mappings, and the slots forms ask for;
- `responses`: variations without text, conditions on unknown slots or values, the zh/en twin missing;
- `dialogue`: rules and stories using unknown intents, actions, slots or forms;
- `products`: "Millet …" names that are not in `knowledge/products.yml`;
- `knowledge`: the knowledge loader's findings, KB answers missing their twin, drifted twins (`twins.lock`).
Rasa's own validator is adapted separately (`bot.trainer.rasa_validator`).
"""
