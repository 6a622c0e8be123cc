output "total" {
  description = "Sum of the doubles and the squares of 1..n."
  value       = module.numbers.results["combine"].output.total
}

output "results" {
  description = "Each operator's output and status in the last run."
  value       = module.numbers.results
}

output "run" {
  description = "The last run: id, status, executor and how many operators it invoked."
  value       = module.numbers.run
}

output "operators" {
  description = "Each operator's function, image, memory and DAG level."
  value       = module.numbers.operators
}

output "levels" {
  description = "The operators of each DAG level."
  value       = module.numbers.levels
}
